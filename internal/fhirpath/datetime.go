package fhirpath

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Precisions of a DateTime, coarsest first.
const (
	PrecYear = iota
	PrecMonth
	PrecDay
	PrecHour
	PrecMinute
	PrecSecond
	PrecMilli
)

// Kinds of DateTime.
const (
	KindDate     = 'D'
	KindDateTime = 'T'
	KindTime     = 't'
)

// DateTime is a FHIRPath Date, DateTime or Time with partial precision.
type DateTime struct {
	Kind                                   byte // KindDate, KindDateTime or KindTime
	Year, Month, Day, Hour, Minute, Second int
	Milli                                  int
	Prec                                   int  // Prec* constant: the finest field present
	HasTZ                                  bool // a timezone offset was given
	TZMin                                  int  // offset east of UTC in minutes
	zulu                                   bool // written as Z
}

var (
	reDate     = regexp.MustCompile(`^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$`)
	reDateTime = regexp.MustCompile(`^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?(?:T(?:(\d{2})(?::(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?)?(Z|[+-]\d{2}:\d{2})?)?$`)
	reTime     = regexp.MustCompile(`^(\d{2})(?::(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?$`)
)

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }

// parseDate parses a date, dateTime or time in FHIRPath literal form without
// the '@' (and for a time without the 'T').
func parseDateTime(s string, kind byte) (DateTime, bool) {
	var d DateTime
	d.Kind = kind
	switch kind {
	case KindDate:
		m := reDate.FindStringSubmatch(s)
		if m == nil {
			return d, false
		}
		d.Year, d.Prec = atoi(m[1]), PrecYear
		if m[2] != "" {
			d.Month, d.Prec = atoi(m[2]), PrecMonth
		}
		if m[3] != "" {
			d.Day, d.Prec = atoi(m[3]), PrecDay
		}
	case KindDateTime:
		m := reDateTime.FindStringSubmatch(s)
		if m == nil {
			return d, false
		}
		d.Year, d.Prec = atoi(m[1]), PrecYear
		if m[2] != "" {
			d.Month, d.Prec = atoi(m[2]), PrecMonth
		}
		if m[3] != "" {
			d.Day, d.Prec = atoi(m[3]), PrecDay
		}
		if m[4] != "" {
			if d.Prec != PrecDay {
				return d, false
			}
			d.Hour, d.Prec = atoi(m[4]), PrecHour
		}
		if m[5] != "" {
			d.Minute, d.Prec = atoi(m[5]), PrecMinute
		}
		if m[6] != "" {
			d.Second, d.Prec = atoi(m[6]), PrecSecond
		}
		if m[7] != "" {
			d.Milli, d.Prec = fracMilli(m[7]), PrecMilli
		}
		if m[8] != "" {
			if d.Prec < PrecHour {
				return d, false
			}
			d.HasTZ = true
			if m[8] == "Z" {
				d.zulu = true
			} else {
				h, mm := atoi(m[8][1:3]), atoi(m[8][4:6])
				if h > 14 || mm > 59 {
					return d, false
				}
				d.TZMin = h*60 + mm
				if m[8][0] == '-' {
					d.TZMin = -d.TZMin
				}
			}
		}
	case KindTime:
		m := reTime.FindStringSubmatch(s)
		if m == nil {
			return d, false
		}
		d.Hour, d.Prec = atoi(m[1]), PrecHour
		if m[2] != "" {
			d.Minute, d.Prec = atoi(m[2]), PrecMinute
		}
		if m[3] != "" {
			d.Second, d.Prec = atoi(m[3]), PrecSecond
		}
		if m[4] != "" {
			d.Milli, d.Prec = fracMilli(m[4]), PrecMilli
		}
	}
	if !d.valid() {
		return d, false
	}
	return d, true
}

func fracMilli(s string) int {
	for len(s) < 3 {
		s += "0"
	}
	return atoi(s[:3])
}

func daysIn(year, month int) int {
	return time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

func (d DateTime) valid() bool {
	if d.Kind != KindTime {
		if d.Prec >= PrecMonth && (d.Month < 1 || d.Month > 12) {
			return false
		}
		if d.Prec >= PrecDay && (d.Day < 1 || d.Day > daysIn(d.Year, d.Month)) {
			return false
		}
	}
	if d.Prec >= PrecHour && d.Hour > 23 {
		return false
	}
	if d.Prec >= PrecMinute && d.Minute > 59 {
		return false
	}
	if d.Prec >= PrecSecond && d.Second > 59 {
		return false
	}
	return true
}

// String gives the FHIRPath literal form without the '@' (and 'T' of a
// time): "2014-12-14", "1974-01-01T00:00:00.000+10:00", "10:30".
func (d DateTime) String() string {
	var b strings.Builder
	if d.Kind != KindTime {
		fmt.Fprintf(&b, "%04d", d.Year)
		if d.Prec >= PrecMonth {
			fmt.Fprintf(&b, "-%02d", d.Month)
		}
		if d.Prec >= PrecDay {
			fmt.Fprintf(&b, "-%02d", d.Day)
		}
		if d.Kind == KindDate || d.Prec < PrecHour {
			return b.String()
		}
		b.WriteByte('T')
	}
	d.timeString(&b)
	if d.Kind == KindDateTime && d.HasTZ {
		if d.zulu {
			b.WriteByte('Z')
		} else {
			off := d.TZMin
			sign := '+'
			if off < 0 {
				sign, off = '-', -off
			}
			fmt.Fprintf(&b, "%c%02d:%02d", sign, off/60, off%60)
		}
	}
	return b.String()
}

func (d DateTime) timeString(b *strings.Builder) {
	fmt.Fprintf(b, "%02d", d.Hour)
	if d.Prec >= PrecMinute {
		fmt.Fprintf(b, ":%02d", d.Minute)
	}
	if d.Prec >= PrecSecond {
		fmt.Fprintf(b, ":%02d", d.Second)
	}
	if d.Prec >= PrecMilli {
		fmt.Fprintf(b, ".%03d", d.Milli)
	}
}

// literal is the form with '@' as used in FHIRPath source.
func (d DateTime) literal() string {
	if d.Kind == KindTime {
		return "@T" + d.String()
	}
	if d.Kind == KindDateTime && d.Prec < PrecHour {
		return "@" + d.String() + "T"
	}
	return "@" + d.String()
}

func (d DateTime) toTime() time.Time {
	loc := time.UTC
	if d.HasTZ && d.TZMin != 0 {
		loc = time.FixedZone("", d.TZMin*60)
	}
	y, mo, day := d.Year, d.Month, d.Day
	if d.Kind == KindTime {
		y, mo, day = 2000, 1, 1
	}
	if mo == 0 {
		mo = 1
	}
	if day == 0 {
		day = 1
	}
	return time.Date(y, time.Month(mo), day, d.Hour, d.Minute, d.Second, d.Milli*1e6, loc)
}

// utc returns d shifted to UTC when it has a timezone and a time part.
func (d DateTime) utc() DateTime {
	if !d.HasTZ || d.Prec < PrecHour || d.TZMin == 0 {
		return d
	}
	t := d.toTime().UTC()
	n := d
	n.Year, n.Month, n.Day = t.Year(), int(t.Month()), t.Day()
	n.Hour, n.Minute = t.Hour(), t.Minute()
	n.TZMin = 0
	return n
}

func precLevel(p int) int {
	if p == PrecMilli {
		return PrecSecond
	}
	return p
}

// compareDT compares two temporal values. ok is false when the result is
// unknown (different precisions that agree as far as both go, or a
// timezone on one side only).
func compareDT(a, b DateTime) (c int, ok bool) {
	if a.Kind == KindTime || b.Kind == KindTime {
		if a.Kind != b.Kind {
			return 0, false
		}
	}
	pa, pb := precLevel(a.Prec), precLevel(b.Prec)
	if a.Kind != KindDate && b.Kind != KindDate && pa >= PrecHour && pb >= PrecHour {
		if a.HasTZ != b.HasTZ {
			return 0, false
		}
		a, b = a.utc(), b.utc()
	}
	fa := [...]int{a.Year, a.Month, a.Day, a.Hour, a.Minute, a.Second*1000 + a.Milli}
	fb := [...]int{b.Year, b.Month, b.Day, b.Hour, b.Minute, b.Second*1000 + b.Milli}
	start := PrecYear
	if a.Kind == KindTime {
		start = PrecHour
	}
	m := min(pa, pb)
	for i := start; i <= m; i++ {
		if fa[i] != fb[i] {
			if fa[i] < fb[i] {
				return -1, true
			}
			return 1, true
		}
	}
	if pa != pb {
		return 0, false
	}
	return 0, true
}

// calendar units and the UCUM codes usable in date arithmetic.
var durationUnits = map[string]int{
	"year": PrecYear, "years": PrecYear,
	"month": PrecMonth, "months": PrecMonth,
	"week": -1, "weeks": -1, "wk": -1,
	"day": PrecDay, "days": PrecDay, "d": PrecDay,
	"hour": PrecHour, "hours": PrecHour, "h": PrecHour,
	"minute": PrecMinute, "minutes": PrecMinute, "min": PrecMinute,
	"second": PrecSecond, "seconds": PrecSecond, "s": PrecSecond,
	"millisecond": PrecMilli, "milliseconds": PrecMilli, "ms": PrecMilli,
}

// addDuration adds n (truncated to an integer) units to d.
func addDuration(d DateTime, q Quantity, sign int) (DateTime, error) {
	p, ok := durationUnits[q.Unit]
	if !ok {
		return d, fmt.Errorf("cannot add a quantity in unit '%s' to a date/time", q.Unit)
	}
	if d.Kind == KindTime && p >= 0 && p < PrecHour {
		return d, fmt.Errorf("cannot add %s to a time", q.Unit)
	}
	nb := q.Value.truncInt()
	n64, ok := intFromBig(nb)
	if !ok || n64 > 1e7 || n64 < -1e7 {
		return d, fmt.Errorf("date arithmetic out of range")
	}
	n := int(n64) * sign
	if p == -1 { // weeks
		p, n = PrecDay, n*7
	}
	// A unit finer than the value's precision is converted to it.
	if p > d.Prec && d.Kind != KindTime {
		switch {
		case p == PrecMonth && d.Prec == PrecYear:
			n, p = n/12, PrecYear
		case p >= PrecDay && d.Prec < PrecDay:
			days := n
			switch p {
			case PrecHour:
				days = n / 24
			case PrecMinute:
				days = n / 1440
			case PrecSecond:
				days = n / 86400
			case PrecMilli:
				days = n / 86400000
			}
			if d.Prec == PrecYear {
				n, p = days/365, PrecYear
			} else {
				n, p = days/30, PrecMonth
			}
		default:
			var secs int
			switch p {
			case PrecHour:
				secs = n * 3600
			case PrecMinute:
				secs = n * 60
			case PrecSecond:
				secs = n
			case PrecMilli:
				secs = n / 1000
			}
			switch precLevel(d.Prec) {
			case PrecDay:
				n, p = secs/86400, PrecDay
			case PrecHour:
				n, p = secs/3600, PrecHour
			case PrecMinute:
				n, p = secs/60, PrecMinute
			default:
				n, p = secs, PrecSecond
			}
		}
	}
	out := d
	switch p {
	case PrecYear, PrecMonth:
		months := n
		if p == PrecYear {
			months = n * 12
		}
		total := d.Year*12 + (max(d.Month, 1) - 1) + months
		out.Year, out.Month = total/12, total%12+1
		if d.Prec < PrecMonth {
			out.Month = 0
		}
		if d.Prec >= PrecDay {
			if dim := daysIn(out.Year, out.Month); out.Day > dim {
				out.Day = dim
			}
		}
	default:
		t := d.toTime()
		switch p {
		case PrecDay:
			t = t.AddDate(0, 0, n)
		case PrecHour:
			t = t.Add(time.Duration(n) * time.Hour)
		case PrecMinute:
			t = t.Add(time.Duration(n) * time.Minute)
		case PrecSecond:
			t = t.Add(time.Duration(n) * time.Second)
		case PrecMilli:
			t = t.Add(time.Duration(n) * time.Millisecond)
		}
		if d.Kind != KindTime {
			out.Year, out.Month, out.Day = t.Year(), int(t.Month()), t.Day()
		}
		out.Hour, out.Minute, out.Second, out.Milli = t.Hour(), t.Minute(), t.Second(), t.Nanosecond()/1e6
	}
	if out.Year < 1 || out.Year > 9999 {
		return d, fmt.Errorf("date arithmetic out of range")
	}
	return out, nil
}

func nowDT() DateTime {
	t := time.Now()
	_, off := t.Zone()
	return DateTime{Kind: KindDateTime, Year: t.Year(), Month: int(t.Month()), Day: t.Day(),
		Hour: t.Hour(), Minute: t.Minute(), Second: t.Second(), Milli: t.Nanosecond() / 1e6,
		Prec: PrecMilli, HasTZ: true, TZMin: off / 60}
}
