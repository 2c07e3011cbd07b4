package hl7v2

// Group is a parent segment and the segments that follow it up to the next
// parent (or a segment that ends the group): an OBR with its OBX and NTE
// children, an OBX with its NTEs, a PID with what concerns that patient.
type Group struct {
	Parent   *Segment
	Children []*Segment
}

// Groups cuts the message into groups headed by segments named parent.
// A group ends at the next parent or at any segment named in end;
// segments before the first parent belong to no group.
//
// In ORU^R01, m.Groups("OBR", "ORC", "PID") gives each order with its
// notes and results, and g.Groups("OBX") each result with its notes.
func (m *Message) Groups(parent string, end ...string) []Group {
	if m == nil {
		return nil
	}
	segs := make([]*Segment, len(m.Segments))
	for i := range m.Segments {
		segs[i] = &m.Segments[i]
	}
	return groups(segs, parent, end)
}

// Groups cuts the children of g the same way (the parent itself is not
// among them).
func (g Group) Groups(parent string, end ...string) []Group {
	return groups(g.Children, parent, end)
}

// Before returns the children that come before the first one named name:
// for an OBR group, the NTEs about the order as a whole with "OBX".
func (g Group) Before(name string) []*Segment {
	for i, s := range g.Children {
		if s.Name == name {
			return g.Children[:i]
		}
	}
	return g.Children
}

// All returns the children named name.
func (g Group) All(name string) []*Segment {
	var out []*Segment
	for _, s := range g.Children {
		if s.Name == name {
			out = append(out, s)
		}
	}
	return out
}

func groups(segs []*Segment, parent string, end []string) []Group {
	var out []Group
	cur := -1
	for _, s := range segs {
		switch {
		case s.Name == parent:
			out = append(out, Group{Parent: s})
			cur = len(out) - 1
		case cur >= 0 && contains(end, s.Name):
			cur = -1
		case cur >= 0:
			out[cur].Children = append(out[cur].Children, s)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
