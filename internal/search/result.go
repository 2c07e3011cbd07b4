package search

import (
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/sharedcare/sharedcare/internal/fhirdef"
)

var elementRE = regexp.MustCompile(`^(?:[A-Z][A-Za-z]*\.)?[a-z][A-Za-z0-9]*(?:\[x\])?$`)

// result parses the result parameters other than _include and _revinclude.
func (p *parser) result(name, v string) error {
	if err := p.once(name); err != nil {
		return err
	}
	oneOf := func(dst *string, allowed ...string) error {
		if !slices.Contains(allowed, v) {
			return p.fail("%q is not one of %s", v, strings.Join(allowed, ", "))
		}
		*dst = v
		return nil
	}
	switch name {
	case "_count":
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || strings.HasPrefix(v, "+") {
			return p.fail("%q is not a non-negative integer", v)
		}
		n = min(n, p.opts.MaxCount)
		p.q.Count = &n
	case "_total":
		return oneOf(&p.q.Total, "none", "estimate", "accurate")
	case "_summary":
		return oneOf(&p.q.Summary, "true", "text", "data", "count", "false")
	case "_contained":
		return oneOf(&p.q.Contained, "true", "false", "both")
	case "_containedType":
		return oneOf(&p.q.ContainedType, "container", "contained")
	case "_page":
		p.q.Page = v
	case "_elements":
		items := strings.Split(v, ",")
		if len(items) > p.opts.MaxOr {
			return p.fail("%d values, at most %d", len(items), p.opts.MaxOr)
		}
		for _, e := range items {
			if !elementRE.MatchString(e) {
				return p.fail("%q is not an element name", e)
			}
			if !slices.Contains(p.q.Elements, e) {
				p.q.Elements = append(p.q.Elements, e)
			}
		}
	case "_sort":
		return p.sort(v)
	}
	return nil
}

func (p *parser) sort(v string) error {
	items := strings.Split(v, ",")
	if len(items) > p.opts.MaxOr {
		return p.fail("%d keys, at most %d", len(items), p.opts.MaxOr)
	}
	for _, item := range items {
		code, desc := strings.CutPrefix(item, "-")
		if code == "" {
			return p.fail("empty sort key")
		}
		sp, ok := p.lookup(p.q.ResourceType, code)
		if !ok || sp.Code == "_list" || sp.Code == "_query" {
			if p.opts.Strict {
				return unsupported(p.key, "cannot sort by %q: not a search parameter of %s", code, where(p.q.ResourceType))
			}
			p.q.Ignored = append(p.q.Ignored, Ignored{Param: "_sort", Reason: "unknown sort key " + code})
			continue
		}
		switch sp.Type {
		case "composite", "special":
			return p.fail("cannot sort by the %s parameter %s", sp.Type, code)
		}
		if sp.Expression == "" {
			return p.fail("cannot sort by %s", code)
		}
		if slices.ContainsFunc(p.q.Sort, func(k SortKey) bool { return k.Code == code }) {
			return p.fail("sort key %s given twice", code)
		}
		p.q.Sort = append(p.q.Sort, SortKey{Code: code, Param: sp, Desc: desc})
	}
	return nil
}

// include parses one _include or _revinclude: Type:param[:target],
// Type:* or *.
func (p *parser) include(rev, iterate bool, v string) error {
	rt := p.q.ResourceType
	in := Include{Iterate: iterate}
	parts := strings.Split(v, ":")
	switch {
	case v == "*":
		if rt == "" {
			return p.fail("* needs a resource type in a system search: Type:*")
		}
		in.Source, in.Code, in.Wildcard = rt, "*", true
		if rev {
			return p.fail("_revinclude takes Type:param or Type:*, not *")
		}
	case len(parts) == 2 || len(parts) == 3:
		in.Source, in.Code = parts[0], parts[1]
		if len(parts) == 3 {
			in.Target = parts[2]
		}
	default:
		return p.fail("%q is not Type:parameter[:targetType]", v)
	}
	if !fhirdef.IsResourceType(in.Source) {
		return p.fail("%q is not a resource type", in.Source)
	}
	if in.Code == "*" {
		in.Wildcard = true
	} else {
		sp, ok := p.opts.Params.SearchParam(in.Source, in.Code)
		if !ok {
			if p.opts.Strict {
				return unsupported(p.key, "%s has no search parameter %q", in.Source, in.Code)
			}
			p.q.Ignored = append(p.q.Ignored, Ignored{Param: p.key, Reason: "unknown parameter " + in.Source + ":" + in.Code})
			return nil
		}
		if sp.Type != "reference" {
			return p.fail("%s:%s is a %s parameter, not a reference", in.Source, in.Code, sp.Type)
		}
		in.Param = sp
	}
	if in.Target != "" {
		if !fhirdef.IsResourceType(in.Target) {
			return p.fail("%q is not a resource type", in.Target)
		}
		if !in.Wildcard && len(in.Param.Target) > 0 && !slices.Contains(in.Param.Target, in.Target) {
			return p.fail("%s:%s cannot refer to %s", in.Source, in.Code, in.Target)
		}
	}
	if !iterate {
		types := p.q.Types
		if rt != "" {
			types = []string{rt}
		}
		if !rev && len(types) > 0 && !slices.Contains(types, in.Source) {
			return p.fail("%s is not searched here; include from %s or use _include:iterate", in.Source, strings.Join(types, ", "))
		}
		if rev && len(types) > 0 {
			refersHere := func(t string) bool {
				if in.Target != "" && in.Target != t {
					return false
				}
				return in.Wildcard || len(in.Param.Target) == 0 || slices.Contains(in.Param.Target, t)
			}
			if !slices.ContainsFunc(types, refersHere) {
				return p.fail("%s:%s cannot refer to %s; use _revinclude:iterate", in.Source, in.Code, strings.Join(types, ", "))
			}
		}
	}
	list := &p.q.Include
	if rev {
		list = &p.q.RevInclude
	}
	if !slices.ContainsFunc(*list, func(x Include) bool { return x.text() == in.text() && x.Iterate == in.Iterate }) {
		*list = append(*list, in)
	}
	return nil
}
