package sqlbuild

import (
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sharedcare/sharedcare/internal/fhir"
	"github.com/sharedcare/sharedcare/internal/fhirdef"
	"github.com/sharedcare/sharedcare/internal/index"
	"github.com/sharedcare/sharedcare/internal/search"
	"github.com/sharedcare/sharedcare/internal/store"
)

// The search planner. A search compiles to one SQL statement over the
// resource table, each clause becoming "r.res_id IN (subquery)" where the
// subquery reads one index table through its (res_type, param, value)
// index: the database intersects the id sets, choosing which to drive from
// by its statistics, and never scans the resource table for an indexed
// parameter. Negations (:not, :missing=true) are "NOT IN" the positive set.
// Chains and _has nest the same subqueries through idx_reference. The
// index rows exist only for current, non-deleted versions (Put replaces
// them), so the subqueries need no join to the resource table.
//
// Results come in sort order, then by type and id; paging is by keyset on
// those values (the cursor), never OFFSET, so a page boundary stays put
// while other resources are written.

// ucum is the UCUM system URL, whose quantities are compared in canonical
// units.
const ucum = "http://unitsofmeasure.org"

// maxText caps the words of one _text or _content value.
const maxWords = 16

// Search selects the hits of sq, run as plan: the history columns, then
// one column per sort key.
func Search(d Dialect, sq store.SearchQuery, plan Plan) (*Query, error) {
	if plan.Materialize {
		return searchMaterialized(d, sq, plan)
	}
	b := &planner{q: New(d), d: d, plan: plan, t: "r"}
	sorts, err := b.sortKeys(sq.Sort)
	if err != nil {
		return nil, err
	}
	b.q.S("SELECT " + hitColumns)
	for _, k := range sorts {
		b.q.S(", ")
		k.write(b.q)
	}
	b.q.S(" FROM resource r JOIN resource_version v ON v.res_type = r.res_type AND v.res_id = r.res_id AND v.version = r.version WHERE ")
	if err := b.filter(sq); err != nil {
		return nil, err
	}
	if err := b.page(sq, sorts); err != nil {
		return nil, err
	}
	return b.q, nil
}

const hitColumns = "r.res_type, r.res_id, r.version, r.patient_key, r.last_updated, v.method, r.deleted, v.body"

// page writes the cursor condition, the order and the limit.
func (b *planner) page(sq store.SearchQuery, sorts []sortKey) error {
	if c := sq.Cursor; c != nil {
		if len(c.Keys) != len(sorts) {
			return fhir.E(fhir.Invalid, "the page cursor does not belong to this search")
		}
		b.q.S(" AND ")
		b.keyset(sorts, c, 0, sq.Backward)
	}
	b.q.S(" ORDER BY ")
	dir := ""
	if sq.Backward {
		dir = " DESC"
	}
	for _, k := range sorts {
		k.write(b.q)
		if k.desc != sq.Backward {
			b.q.S(" DESC")
		}
		b.q.S(", ")
	}
	b.q.S(b.t + ".res_type" + dir + ", " + b.t + ".res_id" + dir)
	b.q.S(" LIMIT ").A(clamp(sq.Limit))
	return nil
}

// searchMaterialized runs a search in two levels: the page's ids are found
// from the driver's ids m alone (index entries only: conditions are id
// sets and probes of the resource's own index rows, sort keys come from
// the index), and only the page's resources are then read.
func searchMaterialized(d Dialect, sq store.SearchQuery, plan Plan) (*Query, error) {
	b := &planner{q: New(d), d: d, plan: plan, t: "m"}
	sorts, err := b.sortKeys(sq.Sort)
	if err != nil {
		return nil, err
	}
	q := b.q
	q.S("SELECT " + hitColumns)
	for i := range sorts {
		q.S(", p.k" + strconv.Itoa(i))
	}
	q.S(" FROM (SELECT m.res_type, m.res_id")
	for i, k := range sorts {
		q.S(", ")
		k.write(q)
		q.S(" AS k" + strconv.Itoa(i))
	}
	q.S(" FROM ")
	if err := b.driver(sq, len(sorts) == 0); err != nil {
		return nil, err
	}
	q.S(" WHERE 1 = 1")
	if err := b.filter(sq); err != nil {
		return nil, err
	}
	if err := b.page(sq, sorts); err != nil {
		return nil, err
	}
	q.S(") p JOIN resource r ON r.res_type = p.res_type AND r.res_id = p.res_id")
	q.S(" JOIN resource_version v ON v.res_type = r.res_type AND v.res_id = r.res_id AND v.version = r.version ORDER BY ")
	dir := ""
	if sq.Backward {
		dir = " DESC"
	}
	for i, k := range sorts {
		q.S("p.k" + strconv.Itoa(i))
		if k.desc != sq.Backward {
			q.S(" DESC")
		}
		q.S(", ")
	}
	q.S("p.res_type" + dir + ", p.res_id" + dir)
	return q, nil
}

// driver writes the materialised driver: the distinct (res_type, res_id)
// of its matches as m. Index rows exist only for current resources, so
// nothing here needs the resource table. In id order (byID), a cursor
// starts m past it.
func (b *planner) driver(sq store.SearchQuery, byID bool) error {
	q := b.q
	one := len(sq.Types) == 1
	q.S("(SELECT DISTINCT ")
	if one {
		q.S("d.res_id, ").A(sq.Types[0]).S(" AS res_type")
	} else {
		q.S("d.res_type, d.res_id")
	}
	q.S(" FROM (")
	switch {
	case b.plan.Driver == DriveCompartment:
		b.compartment(sq)
	case b.plan.PushLimit && byID && one && exactTokens(sq.Clauses[b.plan.Driver]):
		b.tokenStreams(sq)
	default:
		if err := b.ids(sq.Clauses[b.plan.Driver], sq.Types); err != nil {
			return err
		}
	}
	q.S(") d")
	if c := sq.Cursor; c != nil && byID {
		op := " > "
		if sq.Backward {
			op = " < "
		}
		if one {
			q.S(" WHERE d.res_id" + op).A(c.ID)
		} else {
			q.S(" WHERE (d.res_type" + op).A(c.Type).S(" OR (d.res_type = ").A(c.Type).S(" AND d.res_id" + op).A(c.ID).S("))")
		}
	}
	if b.plan.PushLimit && byID {
		dir := ""
		if sq.Backward {
			dir = " DESC"
		}
		if one {
			q.S(" ORDER BY d.res_id" + dir)
		} else {
			q.S(" ORDER BY d.res_type" + dir + ", d.res_id" + dir)
		}
		q.S(" LIMIT ").A(clamp(sq.Limit))
	}
	q.S(") m")
	return nil
}

// maxStreams caps the values tokenStreams merges.
const maxStreams = 32

// exactTokens says c is a plain token clause whose every value names a
// system and a code: each is then one run of the (res_type, param, code,
// system, res_id) index, already in id order.
func exactTokens(c *search.Clause) bool {
	if c.Has != nil || len(c.Chain) > 0 || c.Modifier != search.ModNone || c.Param.Type != "token" ||
		c.Param.Code == "_id" || len(c.Values) == 0 || len(c.Values) > maxStreams {
		return false
	}
	for _, v := range c.Values {
		if v.Token == nil || !v.Token.HasSystem || v.Token.Code == "" {
			return false
		}
	}
	return true
}

// tokenStreams writes the first page of ids of an exactTokens driver: the
// union of each value's own first page, each read in order from the index
// and stopped at the limit, where reading every match to sort them would
// cost as much as there are matches.
func (b *planner) tokenStreams(sq store.SearchQuery) {
	q := b.q
	c := sq.Clauses[b.plan.Driver]
	op, dir := " > ", ""
	if sq.Backward {
		op, dir = " < ", " DESC"
	}
	for i, v := range c.Values {
		if i > 0 {
			q.S(" UNION ")
		}
		q.S("SELECT res_id FROM (SELECT res_id FROM idx_token WHERE res_type = ").A(sq.Types[0]).S(" AND param = ").A(c.Param.Code)
		q.S(" AND code = ").A(v.Token.Code).S(" AND system = ").A(v.Token.System)
		if cur := sq.Cursor; cur != nil {
			q.S(" AND res_id" + op).A(cur.ID)
		}
		q.S(" ORDER BY res_id" + dir + " LIMIT ").A(clamp(sq.Limit)).S(")")
	}
}

// SearchCount counts the matches of sq, run as plan.
func SearchCount(d Dialect, sq store.SearchQuery, plan Plan) (*Query, error) {
	b := &planner{q: New(d), d: d, plan: plan, t: "r"}
	b.q.S("SELECT COUNT(*) FROM ")
	if plan.Materialize {
		b.t = "m"
		if err := b.driver(sq, false); err != nil {
			return nil, err
		}
		b.q.S(" WHERE 1 = 1")
	} else {
		b.q.S("resource r WHERE ")
	}
	if err := b.filter(sq); err != nil {
		return nil, err
	}
	return b.q, nil
}

// Include selects the current resources that iq.Of refer to or that refer
// to iq.Of.
func Include(d Dialect, iq store.IncludeQuery) *Query {
	q := New(d)
	q.S("SELECT r.res_type, r.res_id, r.version, r.patient_key, r.last_updated, v.method, r.deleted, v.body")
	q.S(" FROM resource r JOIN resource_version v ON v.res_type = r.res_type AND v.res_id = r.res_id AND v.version = r.version")
	q.S(" WHERE r.deleted = ").A(false).S(" AND ")
	byType := groupKeys(iq.Of)
	if iq.Reverse {
		q.S("(r.res_type, r.res_id) IN (SELECT x.res_type, x.res_id FROM idx_reference x WHERE x.res_type = ").A(iq.SourceType)
		params(q, "x.param", iq.Params)
		q.S(" AND (")
		for i, g := range byType {
			if i > 0 {
				q.S(" OR ")
			}
			q.S("(x.ref_type = ").A(g.typ).S(" AND x.ref_id IN (")
			list(q, g.ids)
			q.S("))")
		}
		q.S("))")
	} else {
		q.S("(r.res_type, r.res_id) IN (SELECT x.ref_type, x.ref_id FROM idx_reference x WHERE (")
		for i, g := range byType {
			if i > 0 {
				q.S(" OR ")
			}
			q.S("(x.res_type = ").A(g.typ).S(" AND x.res_id IN (")
			list(q, g.ids)
			q.S("))")
		}
		q.S(")")
		params(q, "x.param", iq.Params)
		if iq.TargetType != "" {
			q.S(" AND x.ref_type = ").A(iq.TargetType)
		} else {
			q.S(" AND x.ref_type <> ''")
		}
		q.S(" AND x.ref_id <> '')")
	}
	q.S(" ORDER BY r.res_type, r.res_id LIMIT ").A(clamp(iq.Limit))
	return q
}

// ReadMany selects the current, non-deleted versions of keys.
func ReadMany(d Dialect, keys []store.Key) *Query {
	q := New(d)
	q.S("SELECT r.res_type, r.res_id, r.version, r.patient_key, r.last_updated, v.method, r.deleted, v.body")
	q.S(" FROM resource r JOIN resource_version v ON v.res_type = r.res_type AND v.res_id = r.res_id AND v.version = r.version")
	q.S(" WHERE r.deleted = ").A(false).S(" AND (")
	for i, g := range groupKeys(keys) {
		if i > 0 {
			q.S(" OR ")
		}
		q.S("(r.res_type = ").A(g.typ).S(" AND r.res_id IN (")
		list(q, g.ids)
		q.S("))")
	}
	if len(keys) == 0 {
		q.S("1 = 0")
	}
	q.S(")")
	return q
}

type keyGroup struct {
	typ string
	ids []string
}

func groupKeys(keys []store.Key) []keyGroup {
	var out []keyGroup
	at := map[string]int{}
	for _, k := range keys {
		i, ok := at[k.Type]
		if !ok {
			i = len(out)
			at[k.Type] = i
			out = append(out, keyGroup{typ: k.Type})
		}
		out[i].ids = append(out[i].ids, k.ID)
	}
	return out
}

// inPatients writes the comparison with the compartment's Patient (and
// its linked Patients).
func inPatients(q *Query, sq store.SearchQuery) {
	if len(sq.Linked) == 0 {
		q.S(" = ").A(sq.Compartment)
		return
	}
	q.S(" IN (").A(sq.Compartment)
	for _, p := range sq.Linked {
		q.S(", ").A(p)
	}
	q.S(")")
}

func list(q *Query, vals []string) {
	for i, v := range vals {
		if i > 0 {
			q.S(", ")
		}
		q.A(v)
	}
	if len(vals) == 0 {
		q.S("NULL")
	}
}

func params(q *Query, col string, codes []string) {
	switch len(codes) {
	case 0:
	case 1:
		q.S(" AND " + col + " = ").A(codes[0])
	default:
		q.S(" AND " + col + " IN (")
		list(q, codes)
		q.S(")")
	}
}

type planner struct {
	q    *Query
	d    Dialect
	plan Plan
	// t is the alias conditions are written against: r, the resource
	// table, or m, the materialised ids.
	t string
}

// filter writes the WHERE condition for sq (without the cursor): on r, or,
// materialised, the conditions the driver m does not already imply.
func (b *planner) filter(sq store.SearchQuery) error {
	q := b.q
	if b.t == "r" {
		q.S("r.deleted = ").A(false)
		switch len(sq.Types) {
		case 0:
		case 1:
			q.S(" AND r.res_type = ").A(sq.Types[0])
		default:
			q.S(" AND r.res_type IN (")
			list(q, sq.Types)
			q.S(")")
		}
	}
	if sq.Compartment != "" && !(b.plan.Materialize && b.plan.Driver == DriveCompartment) {
		q.S(" AND ")
		if b.plan.Driver == DriveCompartment || b.plan.set(DriveCompartment) {
			b.member(sq.Types)
			b.compartment(sq)
			q.S(")")
		} else {
			q.S("EXISTS (SELECT 1 FROM idx_compartment x WHERE x.res_type = " + b.t + ".res_type AND x.res_id = " + b.t + ".res_id AND " + b.d.NoIndex + "x.patient")
			inPatients(q, sq)
			q.S(")")
		}
	}
	if cr := sq.Care; cr != nil {
		dated := "SELECT 1 FROM idx_date d WHERE d.res_type = " + b.t + ".res_type AND d.res_id = " + b.t + ".res_id AND " + b.d.NoIndex + "d.param IN ('date', 'authoredon', 'onset-date')"
		q.S(" AND (NOT EXISTS (" + dated + ") OR EXISTS (" + dated + " AND d.high >= ").A(cr[0]).S(" AND d.low <= ").A(cr[1]).S("))")
	}
	for _, f := range sq.Filters {
		b.accessFilter(f)
	}
	for i, c := range sq.Clauses {
		if b.plan.Materialize && i == b.plan.Driver {
			continue
		}
		q.S(" AND ")
		if i != b.plan.Driver && !b.plan.set(i) {
			if err := b.probe(c); err != nil {
				return err
			}
			continue
		}
		b.member(sq.Types)
		if err := b.ids(c, sq.Types); err != nil {
			return err
		}
		q.S(")")
	}
	return nil
}

// accessFilter writes one access condition (store.Filter): on the owner
// column, or, materialised, through the resource's primary key; tokens
// through each resource's own index rows.
func (b *planner) accessFilter(f store.Filter) {
	q := b.q
	q.S(" AND (")
	if len(f.Types) > 0 {
		q.S(b.t + ".res_type NOT IN (")
		list(q, f.Types)
		q.S(") OR (")
	}
	q.S("1 = 1")
	if f.Restrict {
		if b.t == "r" {
			q.S(" AND r.patient_key IN (")
		} else {
			q.S(" AND EXISTS (SELECT 1 FROM resource o WHERE o.res_type = " + b.t + ".res_type AND o.res_id = " + b.t + ".res_id AND o.patient_key IN (")
		}
		list(q, f.Owners)
		q.S(")")
		if b.t != "r" {
			q.S(")")
		}
	}
	if len(f.Withhold) > 0 {
		q.S(" AND (NOT ")
		b.carries(f.Withhold)
		if len(f.Except) > 0 {
			q.S(" OR ")
			b.carries(f.Except)
		}
		q.S(")")
	}
	if len(f.Require) > 0 {
		q.S(" AND ")
		b.carries(f.Require)
	}
	if len(f.Types) > 0 {
		q.S(")")
	}
	q.S(")")
}

// carries writes "the resource has one of these token rows".
func (b *planner) carries(ts []store.TokenRef) {
	q := b.q
	q.S("EXISTS (SELECT 1 FROM idx_token a WHERE a.res_type = " + b.t + ".res_type AND a.res_id = " + b.t + ".res_id AND (")
	for i, t := range ts {
		if i > 0 {
			q.S(" OR ")
		}
		q.S("(a.param = ").A(t.Param).S(" AND a.system = ").A(t.System).S(" AND a.code = ").A(t.Code).S(")")
	}
	q.S("))")
}

func (b *planner) compartment(sq store.SearchQuery) {
	b.q.S("SELECT ")
	if len(sq.Linked) > 0 {
		b.q.S("DISTINCT ") // a resource may be in two of one person's compartments
	}
	b.cols("", sq.Types)
	b.q.S(" FROM idx_compartment WHERE patient")
	inPatients(b.q, sq)
	b.typeFilter("res_type", sq.Types)
}

// probe writes a condition on the row r that holds when r satisfies c,
// looking only at r's own index rows (through each table's (res_type,
// res_id) index), or, for _has, at the rows referring to r.
func (b *planner) probe(c *search.Clause) error {
	q := b.q
	switch {
	case c.Has != nil:
		h := c.Has
		q.S("EXISTS (SELECT 1 FROM idx_reference x WHERE x.res_type = ").A(h.Type).S(" AND x.param = ").A(h.Ref.Code)
		q.S(" AND x.ref_type = " + b.t + ".res_type AND x.ref_id = " + b.t + ".res_id AND x.res_id IN (")
		if err := b.ids(h.Clause, []string{h.Type}); err != nil {
			return err
		}
		q.S("))")
		return nil
	case len(c.Chain) > 0:
		q.S("EXISTS (SELECT 1 FROM idx_reference x WHERE x.res_type = " + b.t + ".res_type AND x.res_id = " + b.t + ".res_id AND " + b.d.NoIndex + "x.param = ").A(c.Param.Code)
		if err := b.targets(c, "x."); err != nil {
			return err
		}
		q.S(")")
		return nil
	}
	switch c.Param.Code {
	case "_id", "_list":
		q.S("(" + b.t + ".res_type, " + b.t + ".res_id) IN (")
		if err := b.ids(c, nil); err != nil {
			return err
		}
		q.S(")")
		return nil
	case "_lastUpdated":
		if c.Modifier == search.ModMissing {
			if *c.Values[0].Missing {
				q.S("1 = 0")
			} else {
				q.S("1 = 1")
			}
			return nil
		}
		// The materialised ids m have no time: look the resource up.
		col := "r.last_updated"
		if b.t != "r" {
			q.S("EXISTS (SELECT 1 FROM resource z WHERE z.res_type = " + b.t + ".res_type AND z.res_id = " + b.t + ".res_id AND ")
			col = "z.last_updated"
		}
		b.instants(col, c)
		if b.t != "r" {
			q.S(")")
		}
		return nil
	}
	table, code, negate, all, err := leaf(c)
	if err != nil {
		return err
	}
	if negate {
		q.S("NOT ")
	}
	q.S("EXISTS (SELECT 1 FROM " + table + " x WHERE x.res_type = " + b.t + ".res_type AND x.res_id = " + b.t + ".res_id AND " + b.d.NoIndex + "x.param = ").A(code)
	if !all {
		if err := b.values(c, table); err != nil {
			return err
		}
	}
	q.S(")")
	return nil
}

// Plan is how a search runs: which set of matches drives it (is computed
// whole, the other conditions then checked per resource through the
// resource's own index rows), or a walk of the resource table in result
// order checking every condition per resource, which stops as soon as a
// page is full and suits conditions that most resources meet.
type Plan struct {
	// Driver is the index of the driving clause, or DriveScan or
	// DriveCompartment.
	Driver int
	// Materialize computes the driver's ids first, from its index alone,
	// and joins the resource table to them in id order (SQLite, where a
	// b-tree seek costs a hundred index entries read in order); otherwise
	// the driver is an IN condition on the resource table, for the
	// database to order as it likes (PostgreSQL).
	Materialize bool
	// Sets are the other conditions (clause indexes, DriveCompartment)
	// tested by membership in their id set, computed once from the index;
	// the rest are probed per resource.
	Sets []int
	// PushLimit cuts the materialised driver to the page itself: when it is
	// the only condition and the order is by id, the page is its first
	// ids, found from the index with a bounded sort.
	PushLimit bool
}

func (p Plan) set(i int) bool {
	for _, s := range p.Sets {
		if s == i {
			return true
		}
	}
	return false
}

const (
	DriveScan        = -1
	DriveCompartment = -2
)

// EstimateCap bounds the index entries an estimate reads. Below it a
// condition's id set is cheap to compute whole (reading index entries in
// order costs well under a microsecond each); above it, when all are, the
// first page is found faster by walking the resource table.
const EstimateCap = 10000

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// drivable says whether c's matches can be listed from an index: not for
// negations, nor _lastUpdated (which only the resource table holds).
func drivable(c *search.Clause) bool {
	if c.Has != nil || len(c.Chain) > 0 {
		return true
	}
	switch c.Param.Code {
	case "_lastUpdated":
		return false
	case "_id", "_list":
		return c.Modifier == search.ModNone
	}
	if tableFor(c.Param) == "" {
		return false
	}
	neg, _, err := polarity(c)
	return err == nil && !neg
}

// Choose plans sq. With estimate (which runs a count query), the driver is
// the condition with the fewest matches, counted up to EstimateCap; when
// every condition has more than that and only the first page in result
// order is wanted (ordered), the resource table is walked instead. Without
// estimate (a database that plans by its own statistics, PostgreSQL), the
// driver is the compartment or the first indexable clause, and the
// database reorders as it sees fit.
func Choose(d Dialect, sq store.SearchQuery, ordered bool, estimate func(*Query) (int64, error)) (Plan, error) {
	p, cands, err := choose(d, sq, ordered, estimate)
	if err == nil && PlanOverride != nil {
		p = PlanOverride(cands, p)
	}
	return p, err
}

// PlanOverride, when set (by tests, which run every search under every
// plan to check they agree), replaces the plan Choose picked; cands are
// the drivers it could have picked.
var PlanOverride func(cands []int, chosen Plan) Plan

func choose(d Dialect, sq store.SearchQuery, ordered bool, estimate func(*Query) (int64, error)) (Plan, []int, error) {
	cands := []int{}
	if sq.Compartment != "" {
		cands = append(cands, DriveCompartment)
	}
	for i, c := range sq.Clauses {
		if drivable(c) {
			cands = append(cands, i)
		}
	}
	if len(cands) == 0 {
		return Plan{Driver: DriveScan}, cands, nil
	}
	if estimate == nil {
		return Plan{Driver: cands[0], Sets: cands[1:]}, cands, nil
	}
	best, bestN := DriveScan, int64(math.MaxInt64)
	counts := make([]int64, len(cands))
	for ci, cand := range cands {
		b := &planner{q: New(d), d: d, t: "r"}
		b.q.S("SELECT COUNT(*) FROM (")
		if cand == DriveCompartment {
			b.compartment(sq)
		} else if err := b.ids(sq.Clauses[cand], sq.Types); err != nil {
			return Plan{}, nil, err
		}
		b.q.S(" LIMIT ").A(EstimateCap).S(") e")
		n, err := estimate(b.q)
		if err != nil {
			return Plan{}, nil, err
		}
		counts[ci] = n
		if n < bestN {
			best, bestN = cand, n
		}
	}
	alone := len(sq.Clauses)+btoi(sq.Compartment != "") == 1 && sq.Care == nil && len(sq.Filters) == 0
	if bestN >= EstimateCap && ordered && len(sq.Sort) == 0 && !alone {
		return Plan{Driver: DriveScan}, cands, nil
	}
	p := Plan{Driver: best, Materialize: true, PushLimit: alone && ordered && len(sq.Sort) == 0}
	for ci, cand := range cands {
		if cand != best && counts[ci] < EstimateCap {
			p.Sets = append(p.Sets, cand)
		}
	}
	return p, cands, nil
}

// member writes the start of "r is in the set that follows": by id for
// one type, by (type, id) otherwise.
func (b *planner) member(types []string) {
	if len(types) == 1 {
		b.q.S(b.t + ".res_id IN (")
	} else {
		b.q.S("(" + b.t + ".res_type, " + b.t + ".res_id) IN (")
	}
}

// cols writes the select list of an id subquery: the id for one type, the
// (type, id) pair otherwise; prefix names the table's columns.
func (b *planner) cols(prefix string, types []string) {
	if len(types) == 1 {
		b.q.S(prefix + "res_id")
	} else {
		b.q.S(prefix + "res_type, " + prefix + "res_id")
	}
}

// typeFilter restricts col to types (none: any type).
func (b *planner) typeFilter(col string, types []string) {
	switch len(types) {
	case 0:
	case 1:
		b.q.S(" AND " + col + " = ").A(types[0])
	default:
		b.q.S(" AND " + col + " IN (")
		list(b.q, types)
		b.q.S(")")
	}
}

// ids writes a subquery selecting the resources of types that satisfy c
// (see cols for its columns).
func (b *planner) ids(c *search.Clause, types []string) error {
	q := b.q
	switch {
	case c.Has != nil:
		h := c.Has
		if len(types) == 1 {
			q.S("SELECT ref_id AS res_id")
		} else {
			q.S("SELECT ref_type AS res_type, ref_id AS res_id")
		}
		q.S(" FROM idx_reference WHERE res_type = ").A(h.Type).S(" AND param = ").A(h.Ref.Code)
		if len(types) == 0 {
			q.S(" AND ref_type <> ''")
		}
		b.typeFilter("ref_type", types)
		q.S(" AND res_id IN (")
		if err := b.ids(h.Clause, []string{h.Type}); err != nil {
			return err
		}
		q.S(")")
		return nil
	case len(c.Chain) > 0:
		q.S("SELECT ")
		b.cols("", types)
		q.S(" FROM idx_reference WHERE param = ").A(c.Param.Code)
		b.typeFilter("res_type", types)
		return b.targets(c, "")
	}
	switch c.Param.Code {
	case "_id":
		return b.idClause(c, types)
	case "_lastUpdated":
		return b.lastUpdated(c, types)
	case "_list":
		q.S("SELECT ")
		if len(types) == 1 {
			q.S("ref_id AS res_id")
		} else {
			q.S("ref_type AS res_type, ref_id AS res_id")
		}
		q.S(" FROM idx_reference WHERE res_type = ").A("List").S(" AND param = ").A("item")
		b.typeFilter("ref_type", types)
		q.S(" AND res_id IN (")
		ids := make([]string, len(c.Values))
		for i, v := range c.Values {
			ids[i] = v.Reference.ID
		}
		list(q, ids)
		q.S(")")
		return nil
	}
	table, code, negate, all, err := leaf(c)
	if err != nil {
		return err
	}
	if negate {
		// Resources without a matching row: everything of the types but
		// the positive set.
		q.S("SELECT ")
		b.cols("", types)
		q.S(" FROM resource WHERE deleted = ").A(false)
		b.typeFilter("res_type", types)
		if len(types) == 1 {
			q.S(" AND res_id NOT IN (")
		} else {
			q.S(" AND (res_type, res_id) NOT IN (")
		}
	}
	q.S("SELECT ")
	b.cols("", types)
	q.S(" FROM " + table + " WHERE param = ").A(code)
	b.typeFilter("res_type", types)
	if !all {
		if err := b.values(c, table); err != nil {
			return err
		}
	}
	if negate {
		q.S(")")
	}
	return nil
}

// values writes " AND (v1 OR v2 ...)": the rows of table that match one
// of c's values.
func (b *planner) values(c *search.Clause, table string) error {
	q := b.q
	q.S(" AND (")
	for i, v := range c.Values {
		if i > 0 {
			q.S(" OR ")
		}
		q.S("(")
		if err := b.value(c, table, v); err != nil {
			return err
		}
		q.S(")")
	}
	q.S(")")
	return nil
}

// targets writes " AND (...)": the reference rows (columns prefixed p)
// that point at a resource matching one of a chain's sub-clauses.
func (b *planner) targets(c *search.Clause, p string) error {
	q := b.q
	q.S(" AND (")
	for i, sub := range c.Chain {
		if i > 0 {
			q.S(" OR ")
		}
		q.S("(" + p + "ref_type = ").A(sub.ResourceType).S(" AND " + p + "ref_id IN (")
		if err := b.ids(sub, []string{sub.ResourceType}); err != nil {
			return err
		}
		q.S("))")
	}
	q.S(")")
	return nil
}

// leaf is what a leaf clause reads: its index table, the parameter code
// its rows carry, and its polarity.
func leaf(c *search.Clause) (table, code string, negate, all bool, err error) {
	table = tableFor(c.Param)
	if table == "" {
		return "", "", false, false, fhir.E(fhir.Invalid, "%s: searching on %s parameters is not supported", c.Name, c.Param.Type)
	}
	code = c.Param.Code
	if c.Modifier == search.ModOfType {
		code += ":of-type"
	}
	negate, all, err = polarity(c)
	return table, code, negate, all, err
}

// polarity says whether c selects resources without matching rows
// (:not, :missing=true) and whether any row of the parameter matches
// (:missing=false).
func polarity(c *search.Clause) (negate, all bool, err error) {
	switch c.Modifier {
	case search.ModNot:
		return true, false, nil
	case search.ModMissing:
		var t, f bool
		for _, v := range c.Values {
			if *v.Missing {
				t = true
			} else {
				f = true
			}
		}
		if t && f {
			return false, false, fhir.E(fhir.Invalid, "%s: missing=true,false matches everything; leave the parameter out", c.Name)
		}
		return t, true, nil
	case search.ModIn, search.ModNotIn, search.ModAbove, search.ModBelow:
		if c.Param.Type == "token" {
			return false, false, fhir.E(fhir.Invalid, "%s: the :%s modifier on token parameters needs a terminology service, which this server does not have yet", c.Name, c.Modifier)
		}
	}
	return false, false, nil
}

// tableFor is the index table of a parameter's values.
func tableFor(p fhirdef.SearchParameter) string {
	switch p.Code {
	case "_text", "_content":
		return "idx_text"
	}
	switch p.Type {
	case "token":
		return "idx_token"
	case "string":
		return "idx_string"
	case "date":
		return "idx_date"
	case "number":
		return "idx_number"
	case "quantity":
		return "idx_quantity"
	case "reference":
		return "idx_reference"
	case "uri":
		return "idx_uri"
	case "composite":
		return "idx_composite"
	}
	return ""
}

// canonical is the factor to a UCUM unit's canonical unit, and that unit.
func canonical(code string) (float64, string) { return index.Canonical(1, code) }

// value writes the condition one value puts on a row of table.
func (b *planner) value(c *search.Clause, table string, v search.Value) error {
	q := b.q
	switch table {
	case "idx_token":
		if c.Modifier == search.ModText {
			b.words("display", v.Str.Normalized, false)
			return nil
		}
		t := v.Token
		if c.Modifier == search.ModOfType {
			q.S("system = ").A(t.System).S(" AND code = ").A(t.Code + "|" + t.Value)
			return nil
		}
		tokenMatch(q, "system", "code", t)
	case "idx_string":
		s := v.Str
		switch c.Modifier {
		case search.ModExact:
			q.S("exact = ").A(s.Text)
		case search.ModContains:
			q.S("norm LIKE ").A("%" + likeEscape(s.Normalized) + "%").S(` ESCAPE '\'`)
		default:
			prefix(q, "norm", s.Normalized)
		}
	case "idx_text":
		b.words("text", v.Str.Normalized, true)
	case "idx_date":
		b.dateMatch("low", "high", v.Prefix, v.Date, false)
	case "idx_number":
		return numberMatch(q, "value", v.Prefix, v.Number, 1)
	case "idx_quantity":
		return quantityMatch(q, v.Prefix, v.Quantity)
	case "idx_reference":
		if c.Modifier == search.ModIdentifier {
			tokenMatch(q, "id_system", "id_value", v.Token)
			return nil
		}
		r := v.Reference
		if r.URL != "" {
			q.S("url = ").A(r.URL)
		} else {
			q.S("ref_id = ").A(r.ID)
			if r.Type != "" {
				q.S(" AND ref_type = ").A(r.Type)
			}
		}
		if r.Version != "" {
			q.S(" AND ref_version = ").A(r.Version)
		}
	case "idx_uri":
		switch c.Modifier {
		case search.ModBelow:
			q.S("substr(uri, 1, ").A(utf8.RuneCountInString(v.URI)).S(") = ").A(v.URI)
		case search.ModAbove:
			q.S("uri IN (")
			list(q, uriPrefixes(v.URI))
			q.S(")")
		default:
			q.S("uri = ").A(v.URI)
		}
	case "idx_composite":
		for i, cv := range v.Composite {
			if i > 0 {
				q.S(" AND ")
			}
			if i > 2 {
				return fhir.E(fhir.Invalid, "%s: composites of more than three components are not supported", c.Name)
			}
			if err := b.component("c"+strconv.Itoa(i+1), cv); err != nil {
				return err
			}
		}
	}
	return nil
}

// tokenMatch matches [system|]code against the columns.
func tokenMatch(q *Query, sysCol, codeCol string, t *search.Token) {
	switch {
	case !t.HasSystem:
		q.S(codeCol + " = ").A(t.Code)
	case t.Code == "":
		q.S(sysCol + " = ").A(t.System)
	default:
		q.S(codeCol + " = ").A(t.Code).S(" AND " + sysCol + " = ").A(t.System)
	}
}

// maxRune sorts after every character, so [s, s+maxRune) is the range of
// strings starting with s in bytewise order (SQLite's BINARY collation,
// PostgreSQL's "C"), which the (…, norm) index answers.
const maxRune = "\U0010FFFF"

func prefix(q *Query, col, s string) {
	q.S(col + " >= ").A(s).S(" AND " + col + " < ").A(s + maxRune)
}

func likeEscape(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(s)
}

// words matches text in which every word of s starts a word: the column
// holds normalised words separated by single spaces (with a leading and
// trailing space when padded).
func (b *planner) words(col, s string, padded bool) {
	ws := strings.Fields(s)
	if len(ws) > maxWords {
		ws = ws[:maxWords]
	}
	if len(ws) == 0 {
		b.q.S("1 = 1")
		return
	}
	for i, w := range ws {
		if i > 0 {
			b.q.S(" AND ")
		}
		if padded {
			b.q.S(col + " LIKE ").A("% " + likeEscape(w) + "%").S(` ESCAPE '\'`)
		} else {
			b.q.S("(" + col + " LIKE ").A(likeEscape(w) + "%").S(` ESCAPE '\' OR ` + col + " LIKE ").A("% " + likeEscape(w) + "%").S(` ESCAPE '\')`)
		}
	}
}

// uriPrefixes are the URLs a canonical URL is below: itself and each
// shorter path ending before a '/'.
func uriPrefixes(u string) []string {
	out := []string{u}
	scheme := strings.Index(u, "://")
	for i := len(u) - 1; i > scheme+3 && scheme >= 0; i-- {
		if u[i] == '/' {
			out = append(out, u[:i])
		}
	}
	return out
}

// dateMatch compares the stored range [lo, hi] (inclusive microseconds;
// the resource's last_updated twice for _lastUpdated, bound as times when
// asTime) with a search date, following the R4 prefix definitions: eq, the
// search range contains the stored one; ne, it does not; gt/lt, the stored
// range reaches past the search one; ge/le, gt/lt or eq; sa/eb, it lies
// wholly after/before; ap, it overlaps the search range widened by a tenth
// of its distance from now (at least a day).
func (b *planner) dateMatch(lo, hi string, p search.Prefix, dt *search.Date, asTime bool) {
	q := b.q
	qlo := dt.Low.UnixMicro()
	qhi := dt.High.UnixMicro() - 1
	arg := func(v int64) {
		if asTime {
			q.T(time.UnixMicro(v).UTC())
		} else {
			q.A(v)
		}
	}
	eq := func() {
		q.S(lo + " >= ")
		arg(qlo)
		q.S(" AND " + hi + " <= ")
		arg(qhi)
	}
	switch p {
	case search.Eq:
		eq()
	case search.Ne:
		q.S("NOT (")
		eq()
		q.S(")")
	case search.Gt:
		q.S(hi + " > ")
		arg(qhi)
	case search.Lt:
		q.S(lo + " < ")
		arg(qlo)
	case search.Ge:
		q.S(hi + " > ")
		arg(qhi)
		q.S(" OR (")
		eq()
		q.S(")")
	case search.Le:
		q.S(lo + " < ")
		arg(qlo)
		q.S(" OR (")
		eq()
		q.S(")")
	case search.Sa:
		q.S(lo + " > ")
		arg(qhi)
	case search.Eb:
		q.S(hi + " < ")
		arg(qlo)
	case search.Ap:
		now := time.Now().UnixMicro()
		dist := now - qlo
		if dist < 0 {
			dist = -dist
		}
		w := max(dist/10, int64(24*time.Hour/time.Microsecond))
		q.S(lo + " <= ")
		arg(satAdd(qhi, w))
		q.S(" AND " + hi + " >= ")
		arg(satAdd(qlo, -w))
	}
}

func satAdd(a, b int64) int64 {
	s := a + b
	if b > 0 && s < a {
		return math.MaxInt64
	}
	if b < 0 && s > a {
		return math.MinInt64
	}
	return s
}

// numberMatch compares col with a search number (scaled by f, for unit
// conversion): eq, within the range the number's precision implies; ne,
// outside it; gt/lt/ge/le and sa/eb against the number itself; ap, within
// 10%.
func numberMatch(q *Query, col string, p search.Prefix, n *search.Number, f float64) error {
	v, err1 := strconv.ParseFloat(n.Value, 64)
	lo, err2 := strconv.ParseFloat(n.Low, 64)
	hi, err3 := strconv.ParseFloat(n.High, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return fhir.E(fhir.Invalid, "%q is out of range", n.Value)
	}
	v, lo, hi = v*f, lo*f, hi*f
	switch p {
	case search.Eq:
		q.S(col + " >= ").A(lo).S(" AND " + col + " < ").A(hi)
	case search.Ne:
		q.S("(" + col + " < ").A(lo).S(" OR " + col + " >= ").A(hi).S(")")
	case search.Gt, search.Sa:
		q.S(col + " > ").A(v)
	case search.Lt, search.Eb:
		q.S(col + " < ").A(v)
	case search.Ge:
		q.S(col + " >= ").A(v)
	case search.Le:
		q.S(col + " <= ").A(v)
	case search.Ap:
		d := math.Abs(v) / 10
		q.S(col + " >= ").A(v - d).S(" AND " + col + " <= ").A(v + d)
	}
	return nil
}

// quantityMatch compares quantities: with a UCUM unit (or a unit and no
// system) in canonical units, so 1 g matches 1000 mg, or by the unit code
// as written; without a unit, by value alone.
func quantityMatch(q *Query, p search.Prefix, qt *search.Quantity) error {
	if qt.Code == "" {
		if qt.System != "" {
			q.S("system = ").A(qt.System).S(" AND ")
		}
		return numberMatch(q, "value", p, &qt.Number, 1)
	}
	q.S("(")
	if qt.System == "" || qt.System == ucum {
		f, cc := canonical(qt.Code)
		q.S("(canon_code = ").A(cc).S(" AND ")
		if err := numberMatch(q, "canon_value", p, &qt.Number, f); err != nil {
			return err
		}
		q.S(") OR ")
	}
	q.S("(code = ").A(qt.Code)
	if qt.System != "" {
		q.S(" AND system = ").A(qt.System)
	}
	q.S(" AND ")
	if err := numberMatch(q, "value", p, &qt.Number, 1); err != nil {
		return err
	}
	q.S("))")
	return nil
}

// component matches one component of a composite against its column, in
// the encoding internal/index documents: token "system|code", quantity
// "value|system|code", date "low..high", others as text.
func (b *planner) component(col string, v search.Value) error {
	q := b.q
	part := func(sep string, n int) string {
		return "split_part(" + col + ", '" + sep + "', " + strconv.Itoa(n) + ")"
	}
	switch {
	case v.Token != nil:
		tokenMatch(q, part("|", 1), part("|", 2), v.Token)
	case v.Quantity != nil:
		qt := v.Quantity
		if qt.Code != "" {
			q.S(part("|", 3) + " = ").A(qt.Code).S(" AND ")
		}
		if qt.System != "" {
			q.S(part("|", 2) + " = ").A(qt.System).S(" AND ")
		}
		return numberMatch(q, "CAST("+part("|", 1)+" AS DOUBLE PRECISION)", v.Prefix, &qt.Number, 1)
	case v.Number != nil:
		return numberMatch(q, "CAST("+col+" AS DOUBLE PRECISION)", v.Prefix, v.Number, 1)
	case v.Date != nil:
		b.dateMatch("CAST("+part("..", 1)+" AS BIGINT)", "CAST("+part("..", 2)+" AS BIGINT)", v.Prefix, v.Date, false)
	case v.Str != nil:
		prefix(q, col, v.Str.Normalized)
	case v.Reference != nil:
		r := v.Reference
		switch {
		case r.URL != "":
			q.S(col + " = ").A(r.URL)
		case r.Type != "":
			q.S(col + " = ").A(r.Type + "/" + r.ID)
		default:
			q.S(part("/", 2) + " = ").A(r.ID)
		}
	default:
		q.S(col + " = ").A(v.URI)
	}
	return nil
}

// idClause matches _id against the resource table.
func (b *planner) idClause(c *search.Clause, types []string) error {
	q := b.q
	q.S("SELECT ")
	b.cols("", types)
	q.S(" FROM resource WHERE deleted = ").A(false)
	b.typeFilter("res_type", types)
	switch c.Modifier {
	case search.ModMissing:
		if *c.Values[0].Missing {
			q.S(" AND 1 = 0")
		}
		return nil
	case search.ModNone, search.ModNot:
	default:
		return fhir.E(fhir.Invalid, "%s: _id does not take the :%s modifier", c.Name, c.Modifier)
	}
	ids := make([]string, len(c.Values))
	for i, v := range c.Values {
		ids[i] = v.Token.Code
	}
	if c.Modifier == search.ModNot {
		q.S(" AND res_id NOT IN (")
	} else {
		q.S(" AND res_id IN (")
	}
	list(q, ids)
	q.S(")")
	return nil
}

// lastUpdated matches _lastUpdated against the resource table.
func (b *planner) lastUpdated(c *search.Clause, types []string) error {
	q := b.q
	q.S("SELECT ")
	b.cols("", types)
	q.S(" FROM resource WHERE deleted = ").A(false)
	b.typeFilter("res_type", types)
	if c.Modifier == search.ModMissing {
		if *c.Values[0].Missing {
			q.S(" AND 1 = 0")
		}
		return nil
	}
	q.S(" AND ")
	b.instants("last_updated", c)
	return nil
}

// instants writes "(v1 OR v2 ...)" for _lastUpdated's values against col,
// a stored time.
func (b *planner) instants(col string, c *search.Clause) {
	q := b.q
	q.S("(")
	for i, v := range c.Values {
		if i > 0 {
			q.S(" OR ")
		}
		q.S("(")
		b.dateMatch(col, col, v.Prefix, v.Date, true)
		q.S(")")
	}
	q.S(")")
}

// sortKey is one ORDER BY expression.
type sortKey struct {
	write func(q *Query)
	desc  bool
	// time: the value is r.last_updated, bound through Dialect.Time
	time bool
}

// sortKeys compiles _sort. A key is the parameter's smallest value of the
// resource (largest when descending; for dates the low end ascending and
// the high end descending), and resources without a value sort last
// either way.
func (b *planner) sortKeys(keys []search.SortKey) ([]sortKey, error) {
	var out []sortKey
	t := b.t
	for _, k := range keys {
		k := k
		switch k.Code {
		case "_id":
			out = append(out, sortKey{write: func(q *Query) { q.S(t + ".res_id") }, desc: k.Desc})
			continue
		case "_lastUpdated":
			out = append(out, sortKey{write: func(q *Query) {
				if t == "r" {
					q.S("r.last_updated")
				} else {
					q.S("(SELECT z.last_updated FROM resource z WHERE z.res_type = " + t + ".res_type AND z.res_id = " + t + ".res_id)")
				}
			}, desc: k.Desc, time: true})
			continue
		}
		table := tableFor(k.Param)
		col, agg := sortColumn(table, k.Desc)
		if col == "" {
			return nil, fhir.E(fhir.Invalid, "_sort: %s cannot be sorted on", k.Code)
		}
		var missing any
		switch table {
		case "idx_date":
			missing = int64(math.MaxInt64)
			if k.Desc {
				missing = int64(math.MinInt64)
			}
		case "idx_number", "idx_quantity":
			missing = math.MaxFloat64
			if k.Desc {
				missing = -math.MaxFloat64
			}
		default:
			missing = maxRune
			if k.Desc {
				missing = ""
			}
		}
		out = append(out, sortKey{desc: k.Desc, write: func(q *Query) {
			q.S("COALESCE((SELECT " + agg + "(s." + col + ") FROM " + table + " s WHERE s.res_type = " + t + ".res_type AND s.res_id = " + t + ".res_id AND " + b.d.NoIndex + "s.param = ").A(k.Code).S("), ").A(missing).S(")")
		}})
	}
	return out, nil
}

func sortColumn(table string, desc bool) (col, agg string) {
	agg = "MIN"
	if desc {
		agg = "MAX"
	}
	switch table {
	case "idx_token":
		return "code", agg
	case "idx_string":
		return "norm", agg
	case "idx_date":
		if desc {
			return "high", agg
		}
		return "low", agg
	case "idx_number", "idx_quantity":
		return "value", agg
	case "idx_reference":
		return "ref_id", agg
	case "idx_uri":
		return "uri", agg
	case "idx_composite":
		return "c1", agg
	}
	return "", ""
}

// keyset writes the condition "after the cursor" (before it when back) in
// the order of keys, then type and id.
func (b *planner) keyset(keys []sortKey, c *store.SearchCursor, i int, back bool) {
	q := b.q
	bind := func(k sortKey, v any) {
		if n, ok := v.(int64); ok && k.time {
			q.T(time.UnixMicro(n).UTC())
			return
		}
		q.A(v)
	}
	if i == len(keys) {
		op := " > "
		if back {
			op = " < "
		}
		q.S("(" + b.t + ".res_type" + op).A(c.Type).S(" OR (" + b.t + ".res_type = ").A(c.Type).S(" AND " + b.t + ".res_id" + op).A(c.ID).S("))")
		return
	}
	k := keys[i]
	op := " > "
	if k.desc != back {
		op = " < "
	}
	q.S("(")
	k.write(q)
	q.S(op)
	bind(k, c.Keys[i])
	q.S(" OR (")
	k.write(q)
	q.S(" = ")
	bind(k, c.Keys[i])
	q.S(" AND ")
	b.keyset(keys, c, i+1, back)
	q.S("))")
}
