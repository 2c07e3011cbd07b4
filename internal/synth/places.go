package synth

import (
	"math"
	"math/rand/v2"
	"strconv"
)

// The generated system is South Yorkshire: four places, each with its
// council, hospital trust and GP practices, under one integrated care
// board. Postcode districts are real and carry a typical deprivation
// (IMD decile, 1 = most deprived tenth of England) so that illness follows
// deprivation as it does in life; the inward part of each postcode is
// random in the real format (digit, two letters from the twenty Royal Mail
// uses), so a postcode may or may not exist.

type area struct {
	name     string  // the place
	share    float64 // of the ICB's population
	phone    string  // landline prefix
	subICB   string  // ODS code of the sub-ICB location
	council  string  // council name
	laCode   string  // local authority number
	streets  []string
	suburbs  []string // for naming practices and homes
	district []postDistrict
}

type postDistrict struct {
	outward string
	town    string
	imd     float64 // typical IMD decile
	weight  float64 // share of the place's population
}

const (
	areaSheffield = iota
	areaRotherham
	areaDoncaster
	areaBarnsley
	numAreas
)

// Populations: Sheffield 556k, Doncaster 308k, Rotherham 265k, Barnsley
// 245k (2021 Census, rounded).
var areas = [numAreas]area{
	areaSheffield: {
		name: "Sheffield", share: 0.405, phone: "0114 496 0", subICB: "03N",
		council: "Sheffield City Council", laCode: "373",
		streets: fields(`Ecclesall_Road Abbeydale_Road Fulwood_Road Crookes_Valley_Road Manor_Lane Staniforth_Road
			Spital_Hill Langsett_Road Firth_Park_Road Herries_Road Middlewood_Road Chesterfield_Road Gleadless_Road
			Sharrow_Vale_Road Whitham_Road Barnsley_Road Penistone_Road Attercliffe_Road Handsworth_Road City_Road`),
		suburbs: fields(`Crookes Walkley Hillsborough Woodseats Heeley Nether_Edge Broomhill Darnall Gleadless
			Handsworth Beighton Mosborough Dore Totley Ecclesfield Chapeltown Stannington Firth_Park Burngreave
			Parson_Cross Shiregreen Stocksbridge Meersbrook Sharrow Greenhill Norton Manor Arbourthorne
			Woodhouse Hackenthorpe`),
		district: []postDistrict{
			{"S1", "Sheffield", 3, 0.03}, {"S2", "Sheffield", 2, 0.08}, {"S3", "Sheffield", 3, 0.04},
			{"S4", "Sheffield", 2, 0.04}, {"S5", "Sheffield", 2, 0.10}, {"S6", "Sheffield", 5, 0.09},
			{"S7", "Sheffield", 8, 0.05}, {"S8", "Sheffield", 6, 0.09}, {"S9", "Sheffield", 2, 0.07},
			{"S10", "Sheffield", 9, 0.08}, {"S11", "Sheffield", 9, 0.07}, {"S12", "Sheffield", 4, 0.05},
			{"S13", "Sheffield", 5, 0.06}, {"S14", "Sheffield", 2, 0.03}, {"S17", "Sheffield", 10, 0.03},
			{"S20", "Sheffield", 6, 0.05}, {"S35", "Sheffield", 7, 0.04},
		},
	},
	areaRotherham: {
		name: "Rotherham", share: 0.193, phone: "01709 49", subICB: "03L",
		council: "Rotherham Metropolitan Borough Council", laCode: "372",
		streets: fields(`Wellgate Moorgate_Road Fitzwilliam_Road Doncaster_Road Kimberworth_Road Psalters_Lane
			Wickersley_Road Bawtry_Road Herringthorpe_Valley_Road Meadowbank_Road Kilnhurst_Road Rawmarsh_Hill`),
		suburbs: fields(`Wickersley Maltby Rawmarsh Kimberworth Wath Swinton Dinnington Thurcroft Aston Brinsworth
			Greasbrough Herringthorpe Kiveton Bramley Whiston Eastwood`),
		district: []postDistrict{
			{"S60", "Rotherham", 6, 0.20}, {"S61", "Rotherham", 3, 0.15}, {"S62", "Rotherham", 3, 0.12},
			{"S63", "Rotherham", 2, 0.15}, {"S64", "Mexborough", 3, 0.08}, {"S65", "Rotherham", 3, 0.15},
			{"S66", "Rotherham", 6, 0.15},
		},
	},
	areaDoncaster: {
		name: "Doncaster", share: 0.222, phone: "01302 49", subICB: "02X",
		council: "City of Doncaster Council", laCode: "371",
		streets: fields(`Thorne_Road Bennetthorpe Balby_Road Bawtry_Road Carr_House_Road Town_Moor_Avenue
			Sprotbrough_Road Armthorpe_Road Askern_Road Great_North_Road Hatfield_Lane Warmsworth_Road`),
		suburbs: fields(`Bentley Balby Armthorpe Mexborough Conisbrough Rossington Edlington Askern Thorne Hatfield
			Tickhill Bawtry Sprotbrough Cantley Wheatley Intake Stainforth Adwick`),
		district: []postDistrict{
			{"DN1", "Doncaster", 2, 0.06}, {"DN2", "Doncaster", 2, 0.12}, {"DN3", "Doncaster", 4, 0.12},
			{"DN4", "Doncaster", 3, 0.15}, {"DN5", "Doncaster", 4, 0.14}, {"DN6", "Doncaster", 3, 0.08},
			{"DN7", "Doncaster", 4, 0.08}, {"DN8", "Doncaster", 4, 0.05}, {"DN10", "Doncaster", 7, 0.03},
			{"DN11", "Doncaster", 5, 0.08}, {"DN12", "Doncaster", 2, 0.09},
		},
	},
	areaBarnsley: {
		name: "Barnsley", share: 0.18, phone: "01226 49", subICB: "02P",
		council: "Barnsley Metropolitan Borough Council", laCode: "370",
		streets: fields(`Dodworth_Road Huddersfield_Road Sheffield_Road Pontefract_Road Park_Road Agnes_Road
			Racecommon_Road Wakefield_Road Doncaster_Road Cross_Street Summer_Lane Burton_Road`),
		suburbs: fields(`Hoyland Royston Penistone Wombwell Cudworth Dodworth Darton Goldthorpe Mapplewell
			Worsbrough Monk_Bretton Athersley Kendray Thurnscoe Grimethorpe`),
		district: []postDistrict{
			{"S70", "Barnsley", 3, 0.22}, {"S71", "Barnsley", 3, 0.17}, {"S72", "Barnsley", 2, 0.14},
			{"S73", "Barnsley", 2, 0.15}, {"S74", "Barnsley", 4, 0.14}, {"S75", "Barnsley", 6, 0.18},
		},
	},
}

var commonStreets = fields(`Church_Lane Station_Road Park_Avenue Manor_Road Victoria_Street High_Street Mill_Lane
	School_Lane Queens_Road King_Street Chapel_Street Green_Lane The_Crescent Grange_Road Highfield_Road
	Westfield_Road Springfield_Avenue Meadow_Close Oak_Tree_Drive Elm_Grove Ash_Grove Beech_Road
	Cherry_Tree_Road Willow_Close Hawthorn_Avenue Moorland_View Valley_Road Hill_Street Bank_Street
	Market_Street Abbey_Lane Cemetery_Road Hollin_Lane Common_Lane Carr_Lane Moor_Lane Ings_Lane Cross_Street
	Cliffe_Road Edge_Lane Hall_Road Vicarage_Lane Woodland_Drive Fern_Road Rose_Avenue Rowan_Close Holly_Bank
	Cedar_Drive Laburnum_Grove Pinfold_Lane Wentworth_Road Sycamore_Avenue Poplar_Close Chestnut_Drive
	Lime_Grove Larch_Road Orchard_Way Bridge_Street Albert_Road Alexandra_Road`)

// spaces undoes the underscores fields() needs for multi-word names.
func spaces(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c == '_' {
			b[i] = ' '
		}
	}
	return string(b)
}

// areaCumulative draws a place by population.
var areaCumulative = func() cumulative {
	w := make([]float64, numAreas)
	for i := range areas {
		w[i] = areas[i].share
	}
	return newCumulative(w)
}()

var districtCumulative = func() [numAreas]cumulative {
	var c [numAreas]cumulative
	for i := range areas {
		w := make([]float64, len(areas[i].district))
		for j, d := range areas[i].district {
			w[j] = d.weight
		}
		c[i] = newCumulative(w)
	}
	return c
}()

// address is a UK postal address.
type address struct {
	line, town, postcode string
	area                 int
}

// postcodeLetters are the letters Royal Mail uses in the inward code.
const postcodeLetters = "ABDEFGHJLNPQRSTUWXYZ"

func randomPostcode(r *rand.Rand, outward string) string {
	b := make([]byte, 0, 8)
	b = append(b, outward...)
	b = append(b, ' ', byte('0'+r.IntN(10)), postcodeLetters[r.IntN(20)], postcodeLetters[r.IntN(20)])
	return string(b)
}

func randomStreet(r *rand.Rand, a int) string {
	if chance(r, 0.3) {
		return spaces(pick(r, areas[a].streets))
	}
	return spaces(pick(r, commonStreets))
}

// randomAddress draws a home in place a: house number, street, town and a
// postcode in one of its districts; it returns the district's index.
func randomAddress(r *rand.Rand, a int) (address, int) {
	d := districtCumulative[a].draw(r)
	dist := areas[a].district[d]
	num := between(r, 1, 180)
	line := strconv.Itoa(num) + " " + randomStreet(r, a)
	if chance(r, 0.06) {
		line = "Flat " + strconv.Itoa(between(r, 1, 24)) + ", " + line
	}
	return address{line: line, town: dist.town, postcode: randomPostcode(r, dist.outward), area: a}, d
}

// imdDecile draws the deprivation decile of a home in a district: near the
// district's typical value, spread over neighbouring deciles.
func imdDecile(r *rand.Rand, typical float64) int {
	return int(clamp(math.Round(normal(r, typical, 1.6)), 1, 10))
}

// imdWeights is the probability of each decile (1..10) for a home drawn
// as randomAddress and imdDecile draw it: used to calibrate prevalence.
func imdWeights() [11]float64 {
	var w [11]float64
	for a := range areas {
		for _, d := range areas[a].district {
			p := areas[a].share * d.weight
			for dec := 1; dec <= 10; dec++ {
				w[dec] += p * decileProb(d.imd, dec)
			}
		}
	}
	sum := 0.0
	for _, v := range w {
		sum += v
	}
	for i := range w {
		w[i] /= sum
	}
	return w
}

// decileProb is P(imdDecile = dec) for a typical value, from the normal
// distribution imdDecile rounds and clamps.
func decileProb(typical float64, dec int) float64 {
	cdf := func(x float64) float64 { return 0.5 * math.Erfc(-(x-typical)/(1.6*math.Sqrt2)) }
	lo, hi := float64(dec)-0.5, float64(dec)+0.5
	if dec == 1 {
		lo = math.Inf(-1)
	}
	if dec == 10 {
		hi = math.Inf(1)
	}
	return cdf(hi) - cdf(lo)
}

// phoneNumber draws a landline in place a from Ofcom's ranges for drama
// (Sheffield 0114 496 0xxx) or, elsewhere, a made-up exchange, and mobiles
// from 07700 900xxx, the range Ofcom keeps out of service.
func phoneNumber(r *rand.Rand, a int) string {
	p := areas[a].phone
	if a == areaSheffield {
		return p + pad(r.IntN(1000), 3)
	}
	return p + pad(r.IntN(10000), 4)
}

func mobileNumber(r *rand.Rand) string { return "07700 900" + pad(r.IntN(1000), 3) }

func pad(v, n int) string {
	s := strconv.Itoa(v)
	for len(s) < n {
		s = "0" + s
	}
	return s
}
