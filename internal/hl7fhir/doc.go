// Package hl7fhir turns HL7 v2 messages (as parsed by package hl7v2) into
// FHIR R4 transaction Bundles in the UK Core conventions the rest of
// sharedcare uses, so that a hospital's HL7 feed lands in the shared
// record through the same FHIR interactions (validation, indexing, access
// rules) as any FHIR client.
//
// What is mapped:
//
//   - ADT A01, A02, A03, A04, A05, A06, A07, A08, A11, A13: Patient and
//     Encounter (with its ward and hospital Locations, Practitioners and
//     the sending Organization); A28, A31 (and A08 without a visit):
//     Patient only, with PD1 (registered GP practice and GP), NK1
//     (contacts) and PID-29/30 (death).
//   - ADT A40: no Bundle but a Merge instruction, for the master patient
//     index to carry out.
//   - ORU R01: a DiagnosticReport per OBR and an Observation per OBX.
//   - MDM T02, T04, T06, T08, T10: a DocumentReference holding the
//     document (OBX lines) as base64 text/plain, or the encapsulated data
//     of ED values.
//
// Replaying a message must not duplicate anything, so every entry is a
// conditional interaction keyed on the sender's own identifiers: Patient
// by MRN (PUT Patient?identifier=…), Encounter by visit number,
// DiagnosticReport by filler order number, Observation by filler order
// number and test code, DocumentReference by the document's unique id.
// Reference data (Organization, Location, Practitioner) is created only
// if absent (POST with ifNoneExist), never overwritten by a feed. Results
// and documents create their Patient and Encounter only if absent too, so
// they never overwrite what the PAS sent, and may arrive before it.
// Entries refer to each other by urn:uuid fullUrls derived from the
// message (MSH-3, MSH-4, MSH-10) and the entry, so output is
// deterministic.
//
// Every resource records the organisation that contributed it: meta.source
// is "https://fhir.nhs.uk/Id/ods-organization-code|" + the ODS code of
// MSH-4 (as the synthetic generator's FHIR bundles do, so access rules see
// one convention), and meta.tag carries the same code as a coding.
//
// Errors are *hl7v2.Error values naming the field at fault, so that the
// MLLP server answers AE (or AR) with an ERR segment: an NHS number that
// fails its Modulus 11 check, a message with no patient identifier, an
// unsupported message type. Values that are present but malformed in
// fields that are not essential (a date of birth that is not a date) are
// left out rather than refusing the message: a stalled ADT feed is a
// greater risk than a missing optional value.
//
// Not mapped (yet): allergies (AL1), diagnoses (DG1), procedures (PR1),
// insurance, observations carried in ADT messages, and the ADT events not
// listed (A12 cancel transfer, A17 swap, A21/A22 leave, A23 delete, A34,
// A39, A41, A42 merges), which are refused with AR and code 201. Since a
// message is mapped on its own, without reading what is stored, an
// Encounter's location history holds the current location and, after a
// transfer, the previous one; a later update of the visit replaces it.
package hl7fhir
