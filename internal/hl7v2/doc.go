// Package hl7v2 reads and writes HL7 version 2 messages (v2.3 to v2.5.1,
// and the v2.7 truncation character) and receives them over MLLP: the
// feed by which hospital systems (patient administration, laboratories,
// observations, document stores) send their events to sharedcare.
//
// # Parsing
//
// Parse reads one message in ER7, the pipe-and-hat encoding. The
// delimiters are taken from the message itself (MSH-1 and MSH-2);
// segments may end in \r (the standard), \n or \r\n (files and some
// feeds), blank lines are skipped and trailing whitespace is ignored.
// Parsing copies the input once and cuts it into fields; repetitions,
// components and sub-components are cut only when asked for, and escape
// sequences are decoded only on access, so reading a typical ADT message
// costs a handful of allocations.
//
// Values are reached by HL7's own numbering, which starts at 1 everywhere:
//
//	m.Get("PID-3(2)-1")                 // second repetition of PID-3, component 1
//	m.Segment("PID").Field(3).Rep(2).Comp(1).String() // the same
//	m.Get("OBX(3)-5")                   // field 5 of the third OBX
//
// A path or index that points past what the message holds gives the empty
// value, never a panic. MSH-1 is the field separator and MSH-2 the
// encoding characters, as in the standard, so MSH-9 is the message type.
// String values are unescaped: \F\ \S\ \T\ \R\ \E\ become the delimiters,
// \.br\ and \.sp\ a line break, \Xhh…\ the bytes hh…; highlighting (\H\,
// \N\) is dropped and any other escape is kept as written.
//
// A Message can also be built (NewMessage, Segment.Set, Message.Set) and
// written back with Encode, which escapes what it is given; ACKs are made
// this way.
//
// # Transport
//
// Reader and WriteFrame implement MLLP framing (a vertical tab, the
// message, a file separator and a carriage return). Server accepts
// connections, hands each message to a Handler in the order received and
// acknowledges it only after the Handler returns: the handler commits
// what it must keep first, so that nothing acknowledged is ever lost.
// Errors of type *Error choose the acknowledgement code (AE or AR) and the
// ERR segment's location. Client sends messages and reads their ACKs.
package hl7v2
