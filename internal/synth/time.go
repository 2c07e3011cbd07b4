package synth

import "time"

// ts is a moment as Unix seconds, UTC. Histories are written as FHIR
// dateTimes in UTC ("Z"); formatting is done here by hand because
// time.Format would be a measurable share of the generator's time.
type ts int64

const (
	minute ts = 60
	hour   ts = 3600
	day    ts = 86400
	year   ts = 31556952 // 365.2425 days
)

// DefaultNow is the "today" histories end at when Config.Now is zero, so
// that output does not change from one day to the next.
var DefaultNow = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

func fromTime(t time.Time) ts { return ts(t.Unix()) }

// midnight truncates to the start of the day.
func (t ts) midnight() ts {
	d := t / day
	if t < 0 && t%day != 0 {
		d--
	}
	return d * day
}

// civil converts days since 1970-01-01 to a calendar date (Hinnant's
// algorithm), valid for the proleptic Gregorian calendar.
func civil(days int64) (y, m, d int) {
	z := days + 719468
	era := z / 146097
	if z < 0 && z%146097 != 0 {
		era--
	}
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	yy := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	dd := doy - (153*mp+2)/5 + 1
	mm := mp + 3
	if mp >= 10 {
		mm = mp - 9
	}
	if mm <= 2 {
		yy++
	}
	return int(yy), int(mm), int(dd)
}

// daysFromCivil is the inverse of civil.
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := int64(y) / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := int64(y) - era*400
	mp := int64(m + 9)
	if m > 2 {
		mp = int64(m - 3)
	}
	doy := (153*mp+2)/5 + int64(d) - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

func dateOf(y, m, d int) ts { return ts(daysFromCivil(y, m, d)) * day }

func (t ts) ymd() (y, m, d int) {
	return civil(int64(t.midnight() / day))
}

func put2(b []byte, v int) []byte { return append(b, byte('0'+v/10), byte('0'+v%10)) }

func put4(b []byte, v int) []byte {
	return append(b, byte('0'+v/1000), byte('0'+v/100%10), byte('0'+v/10%10), byte('0'+v%10))
}

// appendDate writes YYYY-MM-DD.
func appendDate(b []byte, t ts) []byte {
	y, m, d := t.ymd()
	b = put4(b, y)
	b = append(b, '-')
	b = put2(b, m)
	b = append(b, '-')
	return put2(b, d)
}

// appendDateTime writes YYYY-MM-DDThh:mm:ssZ.
func appendDateTime(b []byte, t ts) []byte {
	b = appendDate(b, t)
	s := int(t - t.midnight())
	b = append(b, 'T')
	b = put2(b, s/3600)
	b = append(b, ':')
	b = put2(b, s/60%60)
	b = append(b, ':')
	b = put2(b, s%60)
	return append(b, 'Z')
}

// appendHL7Time writes YYYYMMDDhhmmss (HL7 v2 TS, UTC as the feed's
// local time: the generator does not model British Summer Time).
func appendHL7Time(b []byte, t ts) []byte {
	y, m, d := t.ymd()
	b = put4(b, y)
	b = put2(b, m)
	b = put2(b, d)
	s := int(t - t.midnight())
	b = put2(b, s/3600)
	b = put2(b, s/60%60)
	return put2(b, s%60)
}

// appendHL7Date writes YYYYMMDD.
func appendHL7Date(b []byte, t ts) []byte {
	y, m, d := t.ymd()
	b = put4(b, y)
	b = put2(b, m)
	return put2(b, d)
}

// ageAt is the age in whole years of someone born at birth, at t.
func ageAt(birth, t ts) int {
	by, bm, bd := birth.ymd()
	y, m, d := t.ymd()
	a := y - by
	if m < bm || (m == bm && d < bd) {
		a--
	}
	return a
}

// addYears moves t by whole calendar years (29 February becomes 28th).
func addYears(t ts, n int) ts {
	y, m, d := t.ymd()
	y += n
	if m == 2 && d == 29 && !(y%4 == 0 && (y%100 != 0 || y%400 == 0)) {
		d = 28
	}
	return dateOf(y, m, d) + (t - t.midnight())
}
