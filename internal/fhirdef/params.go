package fhirdef

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
)

// Params is a set of search parameters in force: R4's, and the custom
// SearchParameter resources a server has been given. A server's set
// changes while it runs, so the packages that parse, index and plan
// searches take the set to use rather than reading a global; each set is
// immutable, and a change makes a new one (With). The package functions
// SearchParams, SearchParam and AllSearchParams read R4Params.
type Params struct {
	byType map[string][]SearchParameter // every concrete resource type, sorted by code
	base   map[string][]SearchParameter // "Resource", "DomainResource": as published
	all    []SearchParameter
	byURL  map[string]SearchParameter
	custom []SearchParameter
}

var r4Params = sync.OnceValue(func() *Params {
	d := get()
	p := &Params{byType: map[string][]SearchParameter{}, base: map[string][]SearchParameter{}, all: d.all, byURL: map[string]SearchParameter{}}
	for _, rt := range d.resourceTypes {
		p.byType[rt] = d.search[rt]
	}
	for _, b := range []string{"Resource", "DomainResource"} {
		p.base[b] = d.search[b]
	}
	for _, sp := range d.all {
		p.byURL[sp.URL] = sp
	}
	return p
})

// R4Params returns the official R4 search parameters.
func R4Params() *Params { return r4Params() }

// SearchParams returns the search parameters of a resource type, those of
// Resource (and DomainResource when it applies) included, sorted by code.
// The slice is the caller's; the parameters' own slices are shared.
func (p *Params) SearchParams(resourceType string) []SearchParameter {
	return slices.Clone(p.byType[resourceType])
}

// SearchParam returns the search parameter code of a resource type.
func (p *Params) SearchParam(resourceType, code string) (SearchParameter, bool) {
	list := p.byType[resourceType]
	i := sort.Search(len(list), func(i int) bool { return list[i].Code >= code })
	if i < len(list) && list[i].Code == code {
		return list[i], true
	}
	return SearchParameter{}, false
}

// ResourceParam returns the parameter code that applies to every resource
// type (a base of Resource): what a system search without _type may use.
func (p *Params) ResourceParam(code string) (SearchParameter, bool) {
	for _, sp := range p.base["Resource"] {
		if sp.Code == code {
			return sp, true
		}
	}
	return SearchParameter{}, false
}

// ByURL returns the parameter whose canonical url is url (composite
// parameters name their components so).
func (p *Params) ByURL(url string) (SearchParameter, bool) {
	sp, ok := p.byURL[url]
	return sp, ok
}

// All returns every parameter once: R4's in the order of
// search-parameters.json, then the custom ones in force. The slice is the
// caller's.
func (p *Params) All() []SearchParameter { return slices.Clone(p.all) }

// Custom returns the custom parameters in force, in the order given to
// With.
func (p *Params) Custom() []SearchParameter { return slices.Clone(p.custom) }

// CustomTypes returns the resource types whose parameters differ from
// R4's, sorted.
func (p *Params) CustomTypes() []string {
	seen := map[string]bool{}
	for _, sp := range p.custom {
		for _, t := range p.expand(sp.Base) {
			seen[t] = true
		}
	}
	out := make([]string, 0, len(seen))
	for t := range seen {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// expand turns a parameter's bases into the concrete resource types it
// applies to.
func (p *Params) expand(bases []string) []string {
	var out []string
	for _, b := range bases {
		switch b {
		case "Resource":
			out = append(out, get().resourceTypes...)
		case "DomainResource":
			for _, rt := range get().resourceTypes {
				if get().types[rt].Base == "DomainResource" {
					out = append(out, rt)
				}
			}
		default:
			if IsResourceType(b) {
				out = append(out, b)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Rejected is a custom parameter With left out, and why.
type Rejected struct {
	Param  SearchParameter
	Reason string
}

// With returns p's parameters plus custom, marked Custom, and the custom
// parameters it could not add: one whose code another parameter of one
// of its types already has (the first given wins), or whose url is
// taken. A custom parameter that repeats one of p's definitions (the same
// url and code) is not an addition and is left out silently. Checking
// the parameters' own shape (type, expression) is the caller's.
func (p *Params) With(custom []SearchParameter) (*Params, []Rejected) {
	out := &Params{byType: make(map[string][]SearchParameter, len(p.byType)), base: p.base, all: slices.Clone(p.all),
		byURL: make(map[string]SearchParameter, len(p.byURL)), custom: slices.Clone(p.custom)}
	for k, v := range p.byType {
		out.byType[k] = v // shared until changed: types without new parameters keep p's slices
	}
	for k, v := range p.byURL {
		out.byURL[k] = v
	}
	var rejected []Rejected
	changed := map[string]bool{}
	for _, sp := range custom {
		if r, ok := out.byURL[sp.URL]; ok && sp.URL != "" {
			if r.Code == sp.Code && !r.Custom {
				continue
			}
			rejected = append(rejected, Rejected{sp, fmt.Sprintf("the search parameter %q already has the url %s", r.Code, sp.URL)})
			continue
		}
		types := out.expand(sp.Base)
		if len(types) == 0 {
			rejected = append(rejected, Rejected{sp, fmt.Sprintf("its base %s names no resource type", strings.Join(sp.Base, ", "))})
			continue
		}
		var clash []string
		for _, t := range types {
			if _, ok := out.SearchParam(t, sp.Code); ok {
				clash = append(clash, t)
			}
		}
		if len(clash) > 0 {
			if len(clash) > 3 {
				clash = append(clash[:3], "…")
			}
			rejected = append(rejected, Rejected{sp, fmt.Sprintf("%s already has a search parameter %q", strings.Join(clash, ", "), sp.Code)})
			continue
		}
		sp.Custom = true
		for _, t := range types {
			if !changed[t] {
				out.byType[t] = slices.Clone(out.byType[t])
				changed[t] = true
			}
			list := out.byType[t]
			i := sort.Search(len(list), func(i int) bool { return list[i].Code >= sp.Code })
			out.byType[t] = slices.Insert(list, i, sp)
		}
		out.all = append(out.all, sp)
		out.custom = append(out.custom, sp)
		if sp.URL != "" {
			out.byURL[sp.URL] = sp
		}
	}
	return out, rejected
}
