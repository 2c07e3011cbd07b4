package mpi

// Blocking: which records are worth scoring against an incoming one.
// Each record is filed under a few keys; a query looks up its own keys
// (and some variants of them) and scores only the records filed there.
// A true match is missed only if it shares no key, so the keys are
// chosen so that any one corruption the evaluation makes (a typo in a
// name, a wrong birth date, a move, a missing NHS number, a married
// name) leaves at least one key intact:
//
//	NHS number                       deterministic; survives every demographic change
//	each other identifier            the same MRN re-sent, or a local number
//	birth date                       survives name changes and moves
//	family NYSIIS + birth year       survives a date typo in day or month, and moves
//	family NYSIIS + given NYSIIS     survives any birth date error
//	postcode + given initial         survives a family name change and date errors
//	each phone number, email         survive everything but a new number
//
// and at query time the birth date with day and month swapped, and the
// family and given names swapped. Keys are 64-bit hashes; a collision
// only adds a candidate to score. A key shared by more than maxBlock
// records (Mohammed Khan, 1 January for people whose birth date was
// unknown) is skipped at query time: it would make a query slow and the
// other keys still find the match.

const maxBlock = 2000

const (
	kNHS byte = iota + 1
	kIdent
	kDOB
	kFamYear
	kFamGiven
	kPostInit
	kPhone
	kEmail
)

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

type hasher uint64

func newHasher(kind byte) hasher { return hasher((fnvOffset ^ uint64(kind)) * fnvPrime) }

func (h hasher) str(s string) hasher {
	x := uint64(h)
	for i := 0; i < len(s); i++ {
		x ^= uint64(s[i])
		x *= fnvPrime
	}
	x ^= 0xff // separator, so ("ab","c") differs from ("a","bc")
	x *= fnvPrime
	return hasher(x)
}

func (h hasher) num(n uint64) hasher {
	x := uint64(h)
	for i := 0; i < 8; i++ {
		x ^= n & 0xff
		x *= fnvPrime
		n >>= 8
	}
	return hasher(x)
}

// keys appends the blocking keys a record is filed under.
func (f *features) keys(dst []uint64) []uint64 {
	if f.nhs != 0 {
		dst = append(dst, uint64(newHasher(kNHS).num(uint64(f.nhs))))
	}
	for _, id := range f.ids {
		dst = append(dst, identKey(id.system, id.value))
	}
	year := uint64(f.dob / 10000)
	if f.dob%100 != 0 {
		dst = append(dst, uint64(newHasher(kDOB).num(uint64(f.dob))))
	}
	if f.familyCode != "" {
		if year != 0 {
			dst = append(dst, uint64(newHasher(kFamYear).str(f.familyCode).num(year)))
		}
		if f.givenCode != "" {
			dst = append(dst, uint64(newHasher(kFamGiven).str(f.familyCode).str(f.givenCode)))
		}
	}
	for _, p := range f.prevFamily {
		if year != 0 {
			dst = append(dst, uint64(newHasher(kFamYear).str(nysiis(p)).num(year)))
		}
	}
	if f.postcode != "" && f.given != "" {
		dst = append(dst, uint64(newHasher(kPostInit).str(f.postcode).num(uint64(f.given[0]))))
	}
	for _, p := range f.phones {
		dst = append(dst, uint64(newHasher(kPhone).str(p)))
	}
	if f.email != "" {
		dst = append(dst, uint64(newHasher(kEmail).str(f.email)))
	}
	return dst
}

func identKey(system, value string) uint64 {
	return uint64(newHasher(kIdent).str(system).str(value))
}

func nhsKey(n NHSNumber) uint64 { return uint64(newHasher(kNHS).num(uint64(n))) }

// queryKeys appends the keys a query looks up: its own, and variants
// for errors the stored record may have the other way round.
func (f *features) queryKeys(dst []uint64) []uint64 {
	dst = f.keys(dst)
	d := unpack(f.dob)
	if d.Day != 0 && d.Day <= 12 && d.Day != d.Month {
		t := Date{Year: d.Year, Month: d.Day, Day: d.Month}
		dst = append(dst, uint64(newHasher(kDOB).num(uint64(t.packed()))))
	}
	if f.givenCode != "" && f.familyCode != "" {
		if d.Year != 0 {
			dst = append(dst, uint64(newHasher(kFamYear).str(f.givenCode).num(uint64(d.Year))))
		}
		dst = append(dst, uint64(newHasher(kFamGiven).str(f.givenCode).str(f.familyCode)))
	}
	return dst
}

// postings maps blocking keys to record slots. Most keys (an NHS number,
// an MRN, a phone, a rare name) belong to one record, so those are held
// without a slice: a map entry of 12 bytes instead of 32 and an
// allocation, about a tenth of the index's memory.
type postings struct {
	one  map[uint64]uint32
	many map[uint64][]uint32
}

func newPostings() postings {
	return postings{one: map[uint64]uint32{}, many: map[uint64][]uint32{}}
}

func (p *postings) add(k uint64, s uint32) {
	if list, ok := p.many[k]; ok {
		p.many[k] = append(list, s)
		return
	}
	if t, ok := p.one[k]; ok {
		delete(p.one, k)
		p.many[k] = []uint32{t, s}
		return
	}
	p.one[k] = s
}

func (p *postings) remove(k uint64, s uint32) {
	if list, ok := p.many[k]; ok {
		for i, v := range list {
			if v == s {
				list[i] = list[len(list)-1]
				list = list[:len(list)-1]
				break
			}
		}
		if len(list) == 1 {
			delete(p.many, k)
			p.one[k] = list[0]
		} else {
			p.many[k] = list
		}
		return
	}
	if t, ok := p.one[k]; ok && t == s {
		delete(p.one, k)
	}
}

// appendTo appends the slots filed under k to dst, unless there are more
// than limit of them.
func (p *postings) appendTo(dst []uint32, k uint64, limit int) []uint32 {
	if t, ok := p.one[k]; ok {
		return append(dst, t)
	}
	if list := p.many[k]; len(list) <= limit {
		return append(dst, list...)
	}
	return dst
}

func (p *postings) count() (keys, total int) {
	keys, total = len(p.one)+len(p.many), len(p.one)
	for _, l := range p.many {
		total += len(l)
	}
	return keys, total
}
