// Package jsonpatch implements JSON Patch (RFC 6902) and the JSON Pointer
// (RFC 6901) it addresses values with, for the PATCH interaction of the FHIR
// REST API (PATCH [base]/[type]/[id] with Content-Type
// application/json-patch+json).
//
// It works on the trees fhir.Decode produces: map[string]any, []any, string,
// bool, nil and json.Number. Numbers are never turned into float64, so a
// decimal such as 1.50 keeps its text through a patch, and the test
// operation compares numbers by value on their decimal text.
//
// Parse checks the patch document itself and fails with a fhir.Invalid
// error when it is malformed. Patch.Apply applies the operations in order,
// atomically: it never changes the document it is given, and when an
// operation cannot be applied (a failed test, a path that does not exist, an
// array index out of range) it fails with a fhir.Unprocessable error and no
// result. What may be patched (resourceType, id, meta) is for the caller to
// decide on the result.
package jsonpatch

import (
	"fmt"

	"github.com/sharedcare/sharedcare/internal/fhir"
)

// The operations of RFC 6902 section 4.
const (
	OpAdd     = "add"
	OpRemove  = "remove"
	OpReplace = "replace"
	OpMove    = "move"
	OpCopy    = "copy"
	OpTest    = "test"
)

// MaxCopied bounds how many JSON values (objects, arrays and scalars, each
// counting one) the copy operations of one patch may duplicate in total.
// Without a bound, a few dozen operations copying the document into itself
// would double it each time. The value operations (add, replace) need no
// bound: what they insert is already in the patch document.
const MaxCopied = 100_000

// Operation is one operation of a patch. Path and From are JSON Pointers as
// written in the patch document (escapes not undone); From is used only by
// move and copy, Value only by add, replace and test.
type Operation struct {
	Op    string
	Path  string
	From  string
	Value any
}

// Patch is a JSON Patch document: operations applied in order.
type Patch []Operation

// Parse decodes a JSON Patch document, an array of operation objects, with
// fhir.Decode (so numbers stay json.Number). Every operation must have a
// known op and a path that is a valid JSON Pointer; move and copy need a
// from, and add, replace and test a value, which may be null. Members an
// operation does not use are ignored, as RFC 6902 requires. Errors are
// fhir.Invalid.
func Parse(data []byte) (Patch, error) {
	v, err := fhir.Decode(data)
	if err != nil {
		return nil, err
	}
	arr, ok := v.([]any)
	if !ok {
		return nil, fhir.E(fhir.Invalid, "a JSON Patch document must be a JSON array of operations")
	}
	p := make(Patch, 0, len(arr))
	for i, el := range arr {
		obj, ok := el.(map[string]any)
		if !ok {
			return nil, fhir.E(fhir.Invalid, "patch operation %d is not a JSON object", i)
		}
		op, err := parseOperation(obj)
		if err != nil {
			return nil, fhir.E(fhir.Invalid, "patch operation %d: %s", i, errMsg(err))
		}
		p = append(p, op)
	}
	return p, nil
}

func parseOperation(obj map[string]any) (Operation, error) {
	var (
		op  Operation
		err error
	)
	name, ok := obj["op"].(string)
	if !ok {
		if _, present := obj["op"]; present {
			return op, fhir.E(fhir.Invalid, `"op" must be a string`)
		}
		return op, fhir.E(fhir.Invalid, `"op" is required`)
	}
	switch name {
	case OpAdd, OpRemove, OpReplace, OpMove, OpCopy, OpTest:
	default:
		return op, fhir.E(fhir.Invalid, "unknown op %q", name)
	}
	op.Op = name
	if op.Path, err = pointerMember(obj, "path"); err != nil {
		return op, err
	}
	switch name {
	case OpMove, OpCopy:
		if op.From, err = pointerMember(obj, "from"); err != nil {
			return op, err
		}
	case OpAdd, OpReplace, OpTest:
		val, present := obj["value"]
		if !present {
			return op, fhir.E(fhir.Invalid, `%s requires "value"`, name)
		}
		op.Value = val
	}
	return op, nil
}

func pointerMember(obj map[string]any, name string) (string, error) {
	raw, present := obj[name]
	if !present {
		return "", fhir.E(fhir.Invalid, "%q is required", name)
	}
	s, ok := raw.(string)
	if !ok {
		return "", fhir.E(fhir.Invalid, "%q must be a string", name)
	}
	if _, err := parsePointer(s); err != nil {
		return "", err
	}
	return s, nil
}

// errMsg is the message of a *fhir.Error, without its kind or operation.
func errMsg(err error) string {
	if e, ok := err.(*fhir.Error); ok && e.Msg != "" {
		return e.Msg
	}
	return err.Error()
}

// Apply applies the patch to doc and returns the patched document. doc is
// not modified, and the result shares nothing with doc or with the patch,
// so either may be used or changed afterwards. When any operation fails
// Apply returns a nil document and an error: fhir.Unprocessable when the
// operation cannot be applied to this document (a failed test, a missing
// path, an index out of range, a result nested deeper than fhir.MaxDepth, a
// copy beyond MaxCopied), fhir.Invalid when the patch itself is malformed
// (possible only for a Patch built without Parse).
func (p Patch) Apply(doc any) (any, error) {
	a := applier{doc: deepCopy(doc, nil)}
	for i, op := range p {
		if err := a.apply(op); err != nil {
			e := &fhir.Error{Kind: fhir.KindOf(err), Msg: fmt.Sprintf("patch operation %d (%s %q): %s", i, op.Op, op.Path, errMsg(err))}
			if e.Kind == fhir.Internal {
				e.Kind = fhir.Unprocessable
			}
			return nil, e
		}
	}
	return a.doc, nil
}

// applier holds the document being patched: a private copy, changed in
// place.
type applier struct {
	doc    any
	copied int // values duplicated by copy so far
}

func (a *applier) apply(op Operation) error {
	path, err := parsePointer(op.Path)
	if err != nil {
		return err
	}
	switch op.Op {
	case OpAdd:
		return a.add(path, deepCopy(op.Value, nil))
	case OpRemove:
		_, err := a.remove(path)
		return err
	case OpReplace:
		return a.replace(path, deepCopy(op.Value, nil))
	case OpTest:
		v, err := get(a.doc, path)
		if err != nil {
			return err
		}
		if !Equal(v, op.Value) {
			return fhir.E(fhir.Unprocessable, "test failed: the value at the path is not the one given")
		}
		return nil
	case OpMove, OpCopy:
		from, err := parsePointer(op.From)
		if err != nil {
			return err
		}
		if op.Op == OpCopy {
			v, err := get(a.doc, from)
			if err != nil {
				return fhir.E(fhir.Unprocessable, "from %q: %s", op.From, errMsg(err))
			}
			n := 0
			v = deepCopy(v, &n)
			if a.copied += n; a.copied > MaxCopied {
				return fhir.E(fhir.Unprocessable, "the patch copies more than %d values", MaxCopied)
			}
			return a.add(path, v)
		}
		if from.isProperPrefix(path) {
			return fhir.E(fhir.Unprocessable, "cannot move a value into one of its own children (from %q)", op.From)
		}
		if from.equal(path) { // a no-op, once from is known to exist
			if _, err := get(a.doc, from); err != nil {
				return fhir.E(fhir.Unprocessable, "from %q: %s", op.From, errMsg(err))
			}
			return nil
		}
		v, err := a.remove(from)
		if err != nil {
			return fhir.E(fhir.Unprocessable, "from %q: %s", op.From, errMsg(err))
		}
		return a.add(path, v)
	}
	return fhir.E(fhir.Invalid, "unknown op %q", op.Op)
}

// checkDepth fails when putting v at path would nest the document deeper
// than fhir.MaxDepth, which the server could then not read back.
func checkDepth(path pointer, v any) error {
	limit := fhir.MaxDepth - len(path)
	if depth(v, limit) > limit {
		return fhir.E(fhir.Unprocessable, "the result would nest deeper than %d levels", fhir.MaxDepth)
	}
	return nil
}

// depth is the nesting of objects and arrays in v (0 for a scalar, 1 for
// an empty object), as fhir.Decode counts it, when that is at most limit;
// otherwise some number above limit, found without walking all of v.
func depth(v any, limit int) int {
	var max int
	switch x := v.(type) {
	case map[string]any:
		if limit < 1 {
			return 1
		}
		for _, c := range x {
			if d := depth(c, limit-1); d > max {
				if max = d; max+1 > limit {
					break
				}
			}
		}
	case []any:
		if limit < 1 {
			return 1
		}
		for _, c := range x {
			if d := depth(c, limit-1); d > max {
				if max = d; max+1 > limit {
					break
				}
			}
		}
	default:
		return 0
	}
	return max + 1
}

// add implements the add operation: set an object member, insert into an
// array (at an index, or at the end for "-"), or replace the whole document.
func (a *applier) add(path pointer, v any) error {
	if err := checkDepth(path, v); err != nil {
		return err
	}
	if len(path) == 0 {
		a.doc = v
		return nil
	}
	doc, err := update(a.doc, path, func(parent any, tok string) (any, error) {
		switch c := parent.(type) {
		case map[string]any:
			c[tok] = v
			return c, nil
		case []any:
			i, err := arrayIndex(tok, len(c), len(c), true)
			if err != nil {
				return nil, err
			}
			c = append(c, nil)
			copy(c[i+1:], c[i:])
			c[i] = v
			return c, nil
		}
		return nil, notContainer(path)
	})
	if err != nil {
		return err
	}
	a.doc = doc
	return nil
}

// remove implements the remove operation and returns the value removed.
func (a *applier) remove(path pointer) (any, error) {
	if len(path) == 0 {
		return nil, fhir.E(fhir.Unprocessable, "cannot remove the whole document")
	}
	var removed any
	doc, err := update(a.doc, path, func(parent any, tok string) (any, error) {
		switch c := parent.(type) {
		case map[string]any:
			v, ok := c[tok]
			if !ok {
				return nil, notFound(path)
			}
			removed = v
			delete(c, tok)
			return c, nil
		case []any:
			i, err := arrayIndex(tok, len(c), len(c)-1, false)
			if err != nil {
				return nil, err
			}
			removed = c[i]
			copy(c[i:], c[i+1:])
			c[len(c)-1] = nil
			return c[:len(c)-1], nil
		}
		return nil, notContainer(path)
	})
	if err != nil {
		return nil, err
	}
	a.doc = doc
	return removed, nil
}

// replace implements the replace operation: the target must exist.
func (a *applier) replace(path pointer, v any) error {
	if err := checkDepth(path, v); err != nil {
		return err
	}
	if len(path) == 0 {
		a.doc = v
		return nil
	}
	doc, err := update(a.doc, path, func(parent any, tok string) (any, error) {
		switch c := parent.(type) {
		case map[string]any:
			if _, ok := c[tok]; !ok {
				return nil, notFound(path)
			}
			c[tok] = v
			return c, nil
		case []any:
			i, err := arrayIndex(tok, len(c), len(c)-1, false)
			if err != nil {
				return nil, err
			}
			c[i] = v
			return c, nil
		}
		return nil, notContainer(path)
	})
	if err != nil {
		return err
	}
	a.doc = doc
	return nil
}

// update walks node along all but the last token of path (a non-empty
// pointer), calls f with the container found there and the last token, and
// stores what f returns (the container, possibly a new slice) back in its
// parent. It returns node, or f's result when path has one token.
func update(node any, path pointer, f func(parent any, tok string) (any, error)) (any, error) {
	return walk(node, path, 0, f)
}

func walk(node any, path pointer, i int, f func(parent any, tok string) (any, error)) (any, error) {
	if i == len(path)-1 {
		return f(node, path[i])
	}
	tok := path[i]
	switch c := node.(type) {
	case map[string]any:
		child, ok := c[tok]
		if !ok {
			return nil, notFound(path[:i+1])
		}
		nc, err := walk(child, path, i+1, f)
		if err != nil {
			return nil, err
		}
		c[tok] = nc
		return c, nil
	case []any:
		j, err := arrayIndex(tok, len(c), len(c)-1, false)
		if err != nil {
			return nil, err
		}
		nc, err := walk(c[j], path, i+1, f)
		if err != nil {
			return nil, err
		}
		c[j] = nc
		return c, nil
	}
	return nil, notContainer(path[:i+1])
}

// get returns the value at path.
func get(node any, path pointer) (any, error) {
	for i, tok := range path {
		switch c := node.(type) {
		case map[string]any:
			v, ok := c[tok]
			if !ok {
				return nil, notFound(path[:i+1])
			}
			node = v
		case []any:
			j, err := arrayIndex(tok, len(c), len(c)-1, false)
			if err != nil {
				return nil, err
			}
			node = c[j]
		default:
			return nil, notContainer(path[:i+1])
		}
	}
	return node, nil
}

func notFound(p pointer) error {
	return fhir.E(fhir.Unprocessable, "%s does not exist", p)
}

func notContainer(p pointer) error {
	return fhir.E(fhir.Unprocessable, "the parent of %s is neither an object nor an array", p)
}

// String writes p back as a JSON Pointer, escaping "~" and "/".
func (p pointer) String() string {
	if len(p) == 0 {
		return `"" (the whole document)`
	}
	b := make([]byte, 0, 16)
	for _, tok := range p {
		b = append(b, '/')
		for i := 0; i < len(tok); i++ {
			switch tok[i] {
			case '~':
				b = append(b, "~0"...)
			case '/':
				b = append(b, "~1"...)
			default:
				b = append(b, tok[i])
			}
		}
	}
	return string(b)
}

// deepCopy returns a copy of v sharing no map or slice with it. When n is
// not nil it counts the values copied into *n.
func deepCopy(v any, n *int) any {
	if n != nil {
		*n++
	}
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, c := range x {
			m[k] = deepCopy(c, n)
		}
		return m
	case []any:
		s := make([]any, len(x))
		for i, c := range x {
			s[i] = deepCopy(c, n)
		}
		return s
	}
	return v
}
