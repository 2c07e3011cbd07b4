package synth

// Code systems, identifier systems and the clinical codes the generator
// uses. SNOMED CT, LOINC and dm+d codes are real concept ids, checked
// against public sources where they could be; docs/SYNTH.md lists them.
// Nothing here is for clinical use.

const (
	sysSNOMED        = "http://snomed.info/sct"
	sysLOINC         = "http://loinc.org"
	sysUCUM          = "http://unitsofmeasure.org"
	sysDMD           = "https://dmd.nhs.uk"
	sysODS           = "https://fhir.nhs.uk/Id/ods-organization-code"
	sysODSSite       = "https://fhir.nhs.uk/Id/ods-site-code"
	sysNHSNumber     = "https://fhir.nhs.uk/Id/nhs-number"
	sysSDSUser       = "https://fhir.nhs.uk/Id/sds-user-id"
	sysGMC           = "https://fhir.hl7.org.uk/Id/gmc-number"
	sysNMC           = "https://fhir.hl7.org.uk/Id/nmc-number"
	sysGMP           = "https://fhir.hl7.org.uk/Id/gmp-number"
	sysGPhC          = "https://fhir.hl7.org.uk/Id/gphc-number"
	sysGDC           = "https://fhir.hl7.org.uk/Id/gdc-number"
	sysJobRole       = "https://fhir.hl7.org.uk/CodeSystem/UKCore-SDSJobRoleName"
	sysEthnic        = "https://fhir.hl7.org.uk/CodeSystem/UKCore-EthnicCategoryEngland"
	sysVerification  = "https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatusEngland"
	sysAdmitMethod   = "https://fhir.hl7.org.uk/CodeSystem/UKCore-AdmissionMethodEngland"
	sysDischMethod   = "https://fhir.hl7.org.uk/CodeSystem/UKCore-DischargeMethodEngland"
	sysDischDest     = "https://fhir.hl7.org.uk/CodeSystem/UKCore-DischargeDestinationEngland"
	sysActCode       = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
	sysConfidential  = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
	sysActReason     = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
	sysObsCategory   = "http://terminology.hl7.org/CodeSystem/observation-category"
	sysCondCategory  = "http://terminology.hl7.org/CodeSystem/condition-category"
	sysCondClinical  = "http://terminology.hl7.org/CodeSystem/condition-clinical"
	sysCondVerify    = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
	sysAllergyClin   = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
	sysAllergyVerify = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"
	sysFlagCategory  = "http://terminology.hl7.org/CodeSystem/flag-category"
	sysConsentScope  = "http://terminology.hl7.org/CodeSystem/consentscope"
	sysConsentAction = "http://terminology.hl7.org/CodeSystem/consentaction"
	sysContactRole   = "http://terminology.hl7.org/CodeSystem/v2-0131"
	sysMedReqCourse  = "http://terminology.hl7.org/CodeSystem/medicationrequest-course-of-therapy"
	sysOrgType       = "http://terminology.hl7.org/CodeSystem/organization-type"
	sysLocPhysical   = "http://terminology.hl7.org/CodeSystem/location-physical-type"
	sysNDOPCategory  = "https://fhir.nhs.uk/ndop-categories-1"

	extEthnic       = "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-EthnicCategory"
	extVerification = "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus"
	extAdmitMethod  = "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-AdmissionMethod"
	extDischMethod  = "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-DischargeMethod"

	// localIDBase prefixes the identifier systems of organisations' own
	// numbers (hospital MRNs, GP patient numbers, visit numbers). The
	// .example domain is reserved (RFC 2606): these systems name nothing
	// real. The full system is localIDBase + ODS code + "/" + kind.
	localIDBase = "https://sharedcare.example/Id/"

	// sourcePrefix + ODS code is every resource's meta.source: the
	// organisation that sent it, written as the token system|code.
	sourcePrefix = sysODS + "|"

	// extIMD is the Index of Multiple Deprivation decile (1 most deprived)
	// of a home, on the GP's Patient.address.
	extIMD = "https://sharedcare.example/StructureDefinition/imd-decile"

	// sysCarePlanKind is the generator's own small code system naming the
	// kind of a care plan, beside the SNOMED CT record-artifact code, so
	// access rules can match plans without a terminology server.
	sysCarePlanKind = "https://sharedcare.example/CodeSystem/care-plan-kind"
)

func sct(c, display string) code { return code{sysSNOMED, c, display} }

// Long-term conditions, with the all-ages prevalence the generator aims
// for (close to QOF registers in England) and relative risk by age band
// (bands of five years, 90+ last), so that prevalence rises with age as it
// does in life. dep is the risk in the most deprived decile relative to
// the least; the middle decile is 1.
type ltc uint8

const (
	ltcHypertension ltc = iota
	ltcDiabetes
	ltcAsthma
	ltcCOPD
	ltcHeartFailure
	ltcDementia
	ltcDepression
	ltcCancer
	numLTC
)

type ltcDef struct {
	name       string
	code       code
	prevalence float64
	byAge      [numBands]float64
	dep        float64 // risk ratio, decile 1 to decile 10
	male       float64 // risk ratio, men to women
	hl7Code    string  // the ICD-10 code an HL7 feed would carry
}

var ltcs = [numLTC]ltcDef{
	ltcHypertension: {"hypertension", sct("38341003", "Hypertensive disorder, systemic arterial"), 0.14,
		[numBands]float64{0, 0, 0, 0.002, 0.01, 0.02, 0.03, 0.05, 0.08, 0.12, 0.18, 0.25, 0.33, 0.42, 0.5, 0.56, 0.6, 0.62, 0.62},
		1.25, 1.1, "I10"},
	ltcDiabetes: {"diabetes", sct("44054006", "Diabetes mellitus type 2"), 0.075,
		[numBands]float64{0.0005, 0.001, 0.002, 0.003, 0.006, 0.01, 0.016, 0.025, 0.04, 0.06, 0.085, 0.11, 0.14, 0.165, 0.18, 0.19, 0.18, 0.16, 0.14},
		1.9, 1.3, "E11"},
	ltcAsthma: {"asthma", sct("195967001", "Asthma"), 0.065,
		[numBands]float64{0.02, 0.07, 0.08, 0.075, 0.065, 0.06, 0.06, 0.06, 0.06, 0.062, 0.064, 0.066, 0.068, 0.07, 0.07, 0.07, 0.065, 0.06, 0.055},
		1.3, 0.9, "J45"},
	ltcCOPD: {"COPD", sct("13645005", "Chronic obstructive lung disease"), 0.02,
		[numBands]float64{0, 0, 0, 0, 0, 0, 0, 0.001, 0.003, 0.006, 0.012, 0.022, 0.035, 0.05, 0.065, 0.075, 0.08, 0.075, 0.07},
		3.5, 1.1, "J44"},
	ltcHeartFailure: {"heart failure", sct("84114007", "Heart failure"), 0.01,
		[numBands]float64{0, 0, 0, 0, 0, 0, 0.0005, 0.001, 0.002, 0.003, 0.005, 0.008, 0.013, 0.02, 0.032, 0.05, 0.075, 0.1, 0.12},
		1.7, 1.3, "I50"},
	ltcDementia: {"dementia", sct("52448006", "Dementia"), 0.008,
		[numBands]float64{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0.0003, 0.0008, 0.002, 0.006, 0.015, 0.035, 0.07, 0.13, 0.22},
		1.3, 0.8, "F03"},
	ltcDepression: {"depression", sct("35489007", "Depressive disorder"), 0.13,
		[numBands]float64{0, 0, 0.01, 0.08, 0.15, 0.17, 0.18, 0.18, 0.18, 0.18, 0.17, 0.16, 0.14, 0.12, 0.11, 0.11, 0.11, 0.1, 0.1},
		1.8, 0.6, "F32"},
	ltcCancer: {"cancer", sct("363346000", "Malignant neoplastic disease"), 0.035,
		[numBands]float64{0.0005, 0.0005, 0.0005, 0.001, 0.002, 0.003, 0.005, 0.008, 0.013, 0.02, 0.03, 0.045, 0.065, 0.085, 0.105, 0.12, 0.13, 0.13, 0.13},
		1.15, 1.0, "C80"},
}

// Cancers are recorded at their site: breast and prostate by sex,
// colorectal and lung for anyone.
var (
	cancerBreast   = sct("254837009", "Malignant neoplasm of breast")
	cancerProstate = sct("399068003", "Malignant tumor of prostate")
	cancerColon    = sct("363406005", "Malignant tumor of colon")
	cancerLung     = sct("363358000", "Malignant tumor of lung")
	diabetesType1  = sct("46635009", "Diabetes mellitus type 1")
)

// Ages are grouped in bands of five years, the last 90 and over.
const numBands = 19

func band(age int) int {
	if age < 0 {
		return 0
	}
	if b := age / 5; b < numBands {
		return b
	}
	return numBands - 1
}

// agePyramid is the share of each band in the population: England's
// mid-year estimates, rounded.
var agePyramid = [numBands]float64{
	5.4, 5.8, 6.0, 5.8, 6.1, 6.6, 6.9, 6.7, 6.3, 6.3, 6.9, 6.8, 5.9, 5.0, 5.0, 3.8, 2.6, 1.6, 0.9,
}

// Medicines, as dm+d virtual medicinal products (VMP ids).
type med struct {
	code     code
	dose     string
	quantity float64
	unit     string
	ucumUnit string
}

func vmp(id, name, dose string, qty float64, unit string) med {
	return med{code{sysDMD, id, name}, dose, qty, unit, "{" + unit + "}"}
}

var (
	medMetformin     = vmp("325278007", "Metformin 500mg tablets", "1 tablet twice a day with food", 112, "tablet")
	medAmlodipine    = vmp("319283006", "Amlodipine 5mg tablets", "1 tablet once a day", 28, "tablet")
	medRamipril      = vmp("318902004", "Ramipril 5mg capsules", "1 capsule once a day", 28, "capsule")
	medBisoprolol    = vmp("318590006", "Bisoprolol 5mg tablets", "1 tablet once a day", 28, "tablet")
	medFurosemide    = vmp("317972000", "Furosemide 40mg tablets", "1 tablet each morning", 28, "tablet")
	medAtorvastatin  = vmp("39733011000001106", "Atorvastatin 20mg tablets", "1 tablet at night", 28, "tablet")
	medSalbutamol    = vmp("320176004", "Salbutamol 100micrograms/dose inhaler CFC free", "2 puffs when required", 200, "dose")
	medBeclometasone = vmp("408063002", "Beclometasone 100micrograms/dose inhaler CFC free", "2 puffs twice a day", 200, "dose")
	medCitalopram    = vmp("321987003", "Citalopram 20mg tablets", "1 tablet once a day", 28, "tablet")
	medDonepezil     = vmp("323364006", "Donepezil 5mg tablets", "1 tablet at night", 28, "tablet")
	medAmoxicillin   = vmp("39732411000001106", "Amoxicillin 500mg capsules", "1 capsule three times a day for 5 days", 15, "capsule")
	medParacetamol   = vmp("322236009", "Paracetamol 500mg tablets", "2 tablets up to four times a day when required", 100, "tablet")
	medAspirin       = vmp("319773006", "Aspirin 75mg dispersible tablets", "1 tablet once a day", 28, "tablet")
)

// Observations. Each has its code, unit and the decimals it is written
// with; BP is one Observation with two components.
type obsKind uint8

const (
	obsBP obsKind = iota
	obsHeartRate
	obsRespRate
	obsSpO2
	obsTemperature
	obsWeight
	obsHeight
	obsBMI
	obsHbA1c
	obsEGFR
	obsCreatinine
	obsCholesterol
	obsSodium
	obsPotassium
	obsHaemoglobin
	obsCRP
	obsNEWS2
	obsPHQ9
	obsSmoking
	obsPeakFlow
	numObs
)

type obsDef struct {
	code     code
	category string // observation-category code
	unit     string // human unit
	ucum     string
	prec     int
	low, hi  float64 // reference range (0, 0: none)
	hl7Name  string  // short test name for an ORU
}

var obsDefs = [numObs]obsDef{
	obsBP:          {code{sysLOINC, "85354-9", "Blood pressure panel with all children optional"}, "vital-signs", "mmHg", "mm[Hg]", 0, 0, 0, "BP"},
	obsHeartRate:   {code{sysLOINC, "8867-4", "Heart rate"}, "vital-signs", "beats/minute", "/min", 0, 0, 0, "HR"},
	obsRespRate:    {code{sysLOINC, "9279-1", "Respiratory rate"}, "vital-signs", "breaths/minute", "/min", 0, 0, 0, "RR"},
	obsSpO2:        {code{sysLOINC, "59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry"}, "vital-signs", "%", "%", 0, 0, 0, "SPO2"},
	obsTemperature: {code{sysLOINC, "8310-5", "Body temperature"}, "vital-signs", "Cel", "Cel", 1, 0, 0, "TEMP"},
	obsWeight:      {code{sysLOINC, "29463-7", "Body weight"}, "vital-signs", "kg", "kg", 1, 0, 0, "WT"},
	obsHeight:      {code{sysLOINC, "8302-2", "Body height"}, "vital-signs", "cm", "cm", 0, 0, 0, "HT"},
	obsBMI:         {code{sysLOINC, "39156-5", "Body mass index (BMI) [Ratio]"}, "vital-signs", "kg/m2", "kg/m2", 1, 0, 0, "BMI"},
	obsHbA1c:       {code{sysLOINC, "59261-8", "Hemoglobin A1c/Hemoglobin.total in Blood by IFCC protocol"}, "laboratory", "mmol/mol", "mmol/mol", 0, 20, 41, "HBA1C"},
	obsEGFR:        {code{sysLOINC, "62238-1", "Glomerular filtration rate/1.73 sq M.predicted [Volume Rate/Area] in Serum, Plasma or Blood by Creatinine-based formula (CKD-EPI)"}, "laboratory", "mL/min/1.73m2", "mL/min/{1.73_m2}", 0, 90, 0, "EGFR"},
	obsCreatinine:  {code{sysLOINC, "14682-9", "Creatinine [Moles/volume] in Serum or Plasma"}, "laboratory", "umol/L", "umol/L", 0, 59, 104, "CREA"},
	obsCholesterol: {code{sysLOINC, "14647-2", "Cholesterol [Moles/volume] in Serum or Plasma"}, "laboratory", "mmol/L", "mmol/L", 1, 0, 5, "CHOL"},
	obsSodium:      {code{sysLOINC, "2951-2", "Sodium [Moles/volume] in Serum or Plasma"}, "laboratory", "mmol/L", "mmol/L", 0, 133, 146, "NA"},
	obsPotassium:   {code{sysLOINC, "2823-3", "Potassium [Moles/volume] in Serum or Plasma"}, "laboratory", "mmol/L", "mmol/L", 1, 3.5, 5.3, "K"},
	obsHaemoglobin: {code{sysLOINC, "718-7", "Hemoglobin [Mass/volume] in Blood"}, "laboratory", "g/L", "g/L", 0, 120, 170, "HB"},
	obsCRP:         {code{sysLOINC, "1988-5", "C reactive protein [Mass/volume] in Serum or Plasma"}, "laboratory", "mg/L", "mg/L", 0, 0, 5, "CRP"},
	obsNEWS2:       {sct("1104051000000101", "Royal College of Physicians National Early Warning Score 2 (NEWS2) total score"), "survey", "score", "{score}", 0, 0, 0, "NEWS2"},
	obsPHQ9:        {code{sysLOINC, "44261-6", "Patient Health Questionnaire 9 item (PHQ-9) total score [Reported]"}, "survey", "score", "{score}", 0, 0, 0, "PHQ9"},
	obsSmoking:     {code{sysLOINC, "72166-2", "Tobacco smoking status"}, "social-history", "", "", 0, 0, 0, "SMOK"},
	obsPeakFlow:    {code{sysLOINC, "19935-6", "Maximum expiratory gas flow Respiratory system airway by Peak flow meter"}, "vital-signs", "L/min", "L/min", 0, 0, 0, "PEF"},
}

var bpSystolic = code{sysLOINC, "8480-6", "Systolic blood pressure"}
var bpDiastolic = code{sysLOINC, "8462-4", "Diastolic blood pressure"}

var smokingStatus = [3]code{
	sct("266919005", "Never smoked tobacco"),
	sct("8517006", "Ex-smoker"),
	sct("77176002", "Smoker"),
}

// Problems seen in general practice, with relative frequency and whether
// an antibiotic is often prescribed.
type problem struct {
	code       code
	weight     float64
	antibiotic float64 // chance of amoxicillin
	child      bool    // mostly in children
}

var gpProblems = []problem{
	{sct("54150009", "Upper respiratory infection"), 10, 0.05, false},
	{sct("10509002", "Acute bronchitis"), 5, 0.45, false},
	{sct("405737000", "Pharyngitis"), 4, 0.35, false},
	{sct("68566005", "Urinary tract infectious disease"), 4, 0, false},
	{sct("161891005", "Backache"), 6, 0, false},
	{sct("25064002", "Headache"), 3, 0, false},
	{sct("271807003", "Eruption of skin"), 3, 0, false},
	{sct("21522001", "Abdominal pain"), 4, 0, false},
	{sct("48694002", "Anxiety"), 4, 0, false},
	{sct("30989003", "Knee pain"), 4, 0, false},
	{sct("57676002", "Pain in joint"), 4, 0, false},
	{sct("65363002", "Otitis media"), 3, 0.4, true},
	{sct("24079001", "Atopic dermatitis"), 2, 0, true},
	{sct("36971009", "Sinusitis"), 2, 0.3, false},
	{sct("84229001", "Fatigue"), 3, 0, false},
	{sct("49727002", "Cough"), 5, 0.1, false},
	{sct("235595009", "Gastroesophageal reflux disease"), 2, 0, false},
	{sct("193462001", "Insomnia"), 2, 0, false},
	{sct("62315008", "Diarrhea"), 2, 0, false},
	{sct("386661006", "Fever"), 2, 0, true},
}

var gpProblemCum = func() cumulative {
	w := make([]float64, len(gpProblems))
	for i, p := range gpProblems {
		w[i] = p.weight
	}
	return newCumulative(w)
}()

// Reasons for attending A&E, and what an admission from it is for.
type emergency struct {
	complaint code
	diagnosis code
	admit     float64 // chance of admission, before age
	elderly   bool    // mostly in the old
	specialty specialty
	procedure *code // done during the stay, if admitted
}

var (
	procHip      = sct("52734007", "Total replacement of hip")
	procKnee     = sct("609588000", "Total knee replacement")
	procCataract = sct("54885007", "Extraction of cataract")
	procColon    = sct("73761001", "Colonoscopy")
	procPCI      = sct("415070008", "Percutaneous coronary intervention")
	procCTHead   = sct("303653007", "Computed tomography of head")
	procCXR      = sct("399208008", "Plain chest X-ray")
	procECG      = sct("29303009", "Electrocardiographic procedure")
	procMedRev   = sct("182836005", "Review of medication")
	procSpiro    = sct("127783003", "Spirometry")
	procFootExam = sct("401191002", "Diabetic foot examination")
	procDental   = sct("34043003", "Dental consultation and report")
	procEyeExam  = sct("36228007", "Ophthalmic examination and evaluation")
	procWound    = sct("225358003", "Wound care")
	procChemo    = sct("367336001", "Chemotherapy")
	procRadio    = sct("108290001", "Radiation oncology AND/OR radiotherapy")
	procTalking  = sct("75516001", "Psychotherapy")
)

var emergencies = []emergency{
	{sct("29857009", "Chest pain"), sct("57054005", "Acute myocardial infarction"), 0.3, true, specCardiology, &procPCI},
	{sct("267036007", "Dyspnea"), sct("233604007", "Pneumonia"), 0.45, true, specRespiratory, &procCXR},
	{sct("217082002", "Accidental fall"), sct("5913000", "Fracture of neck of femur"), 0.25, true, specOrthopaedics, &procHip},
	{sct("21522001", "Abdominal pain"), sct("25374005", "Gastroenteritis"), 0.2, false, specSurgery, nil},
	{sct("82271004", "Injury of head"), sct("82271004", "Injury of head"), 0.1, false, specEmergency, &procCTHead},
	{sct("44465007", "Sprain of ankle"), sct("44465007", "Sprain of ankle"), 0.01, false, specEmergency, nil},
	{sct("271594007", "Syncope"), sct("271594007", "Syncope"), 0.25, true, specElderly, &procECG},
	{sct("91175000", "Seizure"), sct("91175000", "Seizure"), 0.3, false, specMedicine, nil},
	{sct("419076005", "Allergic reaction"), sct("419076005", "Allergic reaction"), 0.05, false, specEmergency, nil},
	{sct("2776000", "Delirium"), sct("68566005", "Urinary tract infectious disease"), 0.6, true, specElderly, nil},
	{sct("128045006", "Cellulitis"), sct("128045006", "Cellulitis"), 0.35, true, specMedicine, nil},
	{sct("230690007", "Cerebrovascular accident"), sct("230690007", "Cerebrovascular accident"), 0.9, true, specElderly, &procCTHead},
}

var (
	copdExacerbation = sct("195951007", "Acute exacerbation of chronic obstructive airways disease")
	asthmaAttack     = sct("281239006", "Exacerbation of asthma")
	sepsis           = sct("91302008", "Sepsis")
	aki              = sct("14669001", "Acute kidney injury")
)

// Where people go from the emergency department (SNOMED CT, as the
// Emergency Care Data Set records it).
var (
	edHome = sct("306689006", "Discharge to home")
	edWard = sct("306706006", "Discharge to ward")
)

// Allergies: the substance, and a typical reaction.
type allergyDef struct {
	substance code
	category  string
	reaction  code
	weight    float64
}

var allergies = []allergyDef{
	{sct("764146007", "Penicillin"), "medication", sct("247472004", "Urticarial rash"), 8},
	{sct("372687004", "Amoxicillin"), "medication", sct("271807003", "Eruption of skin"), 2},
	{sct("387458008", "Aspirin"), "medication", sct("422587007", "Nausea"), 1},
	{sct("387207008", "Ibuprofen"), "medication", sct("422587007", "Nausea"), 1},
	{sct("256349002", "Peanut"), "food", sct("39579001", "Anaphylaxis"), 2},
	{sct("111088007", "Latex"), "environment", sct("271807003", "Eruption of skin"), 1},
}

var allergyCum = func() cumulative {
	w := make([]float64, len(allergies))
	for i, a := range allergies {
		w[i] = a.weight
	}
	return newCumulative(w)
}()

// Vaccines (SNOMED CT vaccine products).
var (
	vaccineFlu    = sct("1181000221105", "Influenza virus antigen only vaccine product")
	vaccineCovid  = sct("1119349007", "SARS-CoV-2 mRNA vaccine")
	vaccinePneumo = sct("333598008", "Pneumococcal vaccine")
	vaccineMMR    = sct("61153008", "Measles, mumps and rubella vaccine")
)

// The RCGP sensitive set: entries a GP system withholds from other
// organisations unless the patient agrees. They are coded so that access
// rules can find them, and labelled restricted (v3-Confidentiality R)
// with a v3-ActCode sensitivity, so that rules need not know the codes.
type sensitiveKind uint8

const (
	notSensitive sensitiveKind = iota
	sensitiveIVF
	sensitiveSTI
	sensitiveTOP
	sensitiveGender
)

var sensitiveCodes = [...]struct {
	code      code
	procedure bool // a Procedure, otherwise a Condition
	label     code // v3-ActCode sensitivity
}{
	sensitiveIVF:    {sct("52637005", "In vitro fertilization"), true, code{sysActCode, "SEX", "sexuality and reproductive health information sensitivity"}},
	sensitiveSTI:    {sct("105629000", "Chlamydial infection"), false, code{sysActCode, "STD", "sexually transmitted disease information sensitivity"}},
	sensitiveTOP:    {sct("386639001", "Termination of pregnancy"), true, code{sysActCode, "SEX", "sexuality and reproductive health information sensitivity"}},
	sensitiveGender: {sct("93461009", "Gender dysphoria"), false, code{sysActCode, "SEX", "sexuality and reproductive health information sensitivity"}},
}

var restricted = code{sysConfidential, "R", "restricted"}

// Care plans: the SNOMED CT record-artifact type and the generator's own
// kind code.
type planKind uint8

const (
	planEndOfLife planKind = iota
	planRespect
	planCrisis
	planCareSupport
	planCareHome
	planDiabetes
)

var planDefs = [...]struct {
	code  code
	kind  string
	title string
}{
	planEndOfLife:   {sct("736373009", "End of life care plan"), "end-of-life", "End of life care plan"},
	planRespect:     {sct("1382601000000107", "ReSPECT (Recommended Summary Plan for Emergency Care and Treatment) form"), "respect", "ReSPECT: Recommended Summary Plan for Emergency Care and Treatment"},
	planCrisis:      {sct("736253002", "Mental health crisis plan"), "mental-health-crisis", "Mental health crisis plan"},
	planCareSupport: {sct("734163000", "Care plan"), "care-and-support", "Care and support plan (Care Act 2014)"},
	planCareHome:    {sct("734163000", "Care plan"), "care-home", "Care home care plan"},
	planDiabetes:    {sct("734163000", "Care plan"), "diabetes", "Diabetes care plan"},
}

// Documents.
var (
	docDischarge  = sct("373942005", "Discharge summary")
	docClinic     = sct("371531000", "Report of clinical encounter")
	docAssessment = sct("371530004", "Clinical consultation report")
)

// Flags.
var (
	flagFalls      = sct("129839007", "At risk for falls")
	flagVulnerable = sct("417430008", "Vulnerable adult")
	flagSuicide    = sct("225444004", "At risk for suicide")
)

// Consents: what a person has said about the use of their record.
var (
	consentType1   = sct("827241000000103", "Dissent from secondary use of general practitioner patient identifiable data")
	consentSharing = sct("416409005", "Refused consent for upload to local shared electronic record")
	consentNDOP    = code{sysNDOPCategory, "NDOP", "National Data Opt-out"}
)

// Encounter types.
var (
	typeGPProblem  = sct("185347001", "Encounter for problem")
	typeGPReview   = sct("185349003", "Encounter for check up")
	typeEmergency  = sct("4525004", "Emergency department patient visit")
	typeEmergAdmit = sct("183452005", "Emergency hospital admission")
	typeElective   = sct("8715000", "Hospital admission, elective")
	typeOutpatient = sct("11429006", "Consultation")
	typeFollowUp   = sct("390906007", "Follow-up encounter")
	typeHomeVisit  = sct("439708006", "Home visit")
)

// Ethnic categories (NHS Data Dictionary, England) with their share of the
// population of South Yorkshire (2021 Census, rounded) and the names they
// draw from.
var ethnicities = []struct {
	code  code
	share float64
	names nameGroup
	hl7   string
}{
	{code{sysEthnic, "A", "White - British"}, 81.5, namesBritish, "A"},
	{code{sysEthnic, "B", "White - Irish"}, 0.5, namesBritish, "B"},
	{code{sysEthnic, "C", "White - Any other White background"}, 3.8, namesPolish, "C"},
	{code{sysEthnic, "D", "Mixed - White and Black Caribbean"}, 0.9, namesCaribbean, "D"},
	{code{sysEthnic, "E", "Mixed - White and Black African"}, 0.4, namesBritish, "E"},
	{code{sysEthnic, "F", "Mixed - White and Asian"}, 0.6, namesBritish, "F"},
	{code{sysEthnic, "G", "Mixed - Any other mixed background"}, 0.6, namesBritish, "G"},
	{code{sysEthnic, "H", "Asian or Asian British - Indian"}, 0.9, namesIndian, "H"},
	{code{sysEthnic, "J", "Asian or Asian British - Pakistani"}, 3.4, namesPakistani, "J"},
	{code{sysEthnic, "K", "Asian or Asian British - Bangladeshi"}, 0.3, namesBangladeshi, "K"},
	{code{sysEthnic, "L", "Asian or Asian British - Any other Asian background"}, 0.9, namesBritish, "L"},
	{code{sysEthnic, "M", "Black or Black British - Caribbean"}, 0.4, namesCaribbean, "M"},
	{code{sysEthnic, "N", "Black or Black British - African"}, 1.6, namesAfrican, "N"},
	{code{sysEthnic, "P", "Black or Black British - Any other Black background"}, 0.3, namesAfrican, "P"},
	{code{sysEthnic, "R", "Other Ethnic Groups - Chinese"}, 0.6, namesChinese, "R"},
	{code{sysEthnic, "S", "Other Ethnic Groups - Any other ethnic group"}, 1.3, namesBritish, "S"},
	{code{sysEthnic, "Z", "Not stated"}, 2.2, namesBritish, "Z"},
}

var ethnicNotStated = 16 // index of Z

var ethnicCum = func() cumulative {
	w := make([]float64, len(ethnicities))
	for i, e := range ethnicities {
		w[i] = e.share
	}
	return newCumulative(w)
}()

// Hospital specialties: name and NHS treatment function code (for PV1-10).
type specialty uint8

const (
	specMedicine specialty = iota
	specElderly
	specCardiology
	specRespiratory
	specOrthopaedics
	specSurgery
	specOncology
	specEmergency
	specOphthalmology
	specGastro
	specDiabetes
	specPaediatrics
	numSpecialties
)

var specialties = [numSpecialties]struct {
	name, tfc string
	ward      string // a ward of this specialty, or "" for none
}{
	specMedicine:      {"General Internal Medicine", "300", "Acute Medical Unit"},
	specElderly:       {"Geriatric Medicine", "430", "Care of the Elderly"},
	specCardiology:    {"Cardiology", "320", "Cardiology"},
	specRespiratory:   {"Respiratory Medicine", "340", "Respiratory"},
	specOrthopaedics:  {"Trauma and Orthopaedics", "110", "Orthopaedics"},
	specSurgery:       {"General Surgery", "100", "General Surgery"},
	specOncology:      {"Medical Oncology", "370", "Oncology"},
	specEmergency:     {"Emergency Medicine", "180", ""},
	specOphthalmology: {"Ophthalmology", "130", ""},
	specGastro:        {"Gastroenterology", "301", ""},
	specDiabetes:      {"Diabetes Medicine", "307", ""},
	specPaediatrics:   {"Paediatrics", "420", "Children's"},
}

// Job roles (SDS job role names, as UK Core codes them).
type jobRole uint8

const (
	roleGP jobRole = iota
	rolePracticeNurse
	roleConsultant
	roleWardSister
	rolePsychiatrist
	roleMHNurse
	roleDistrictNurse
	roleSocialWorker
	roleCareHomeManager
	rolePalliative
	rolePharmacist
	roleDentist
	roleOptometrist
)

var jobRoles = [...]struct {
	code   code
	prefix string
	reg    string // identifier system of the professional register
}{
	roleGP:              {code{sysJobRole, "R0260", "General Medical Practitioner"}, "Dr", sysGMP},
	rolePracticeNurse:   {code{sysJobRole, "R0620", "Staff Nurse"}, "", sysNMC},
	roleConsultant:      {code{sysJobRole, "R0050", "Consultant"}, "Dr", sysGMC},
	roleWardSister:      {code{sysJobRole, "R0610", "Sister/Charge Nurse"}, "", sysNMC},
	rolePsychiatrist:    {code{sysJobRole, "R1981", "Psychiatrist"}, "Dr", sysGMC},
	roleMHNurse:         {code{sysJobRole, "R1975", "Community Mental Health Nurse"}, "", sysNMC},
	roleDistrictNurse:   {code{sysJobRole, "R0700", "Community Nurse"}, "", sysNMC},
	roleSocialWorker:    {code{sysJobRole, "R9570", "Senior social worker (adults)"}, "", ""},
	roleCareHomeManager: {code{sysJobRole, "R1780", "Manager"}, "", sysNMC},
	rolePalliative:      {code{sysJobRole, "R0050", "Consultant"}, "Dr", sysGMC},
	rolePharmacist:      {code{sysJobRole, "R1290", "Pharmacist"}, "", sysGPhC},
	roleDentist:         {code{sysJobRole, "R0250", "General Dental Practitioner"}, "", sysGDC},
	roleOptometrist:     {code{sysJobRole, "R1280", "Optometrist"}, "", ""},
}
