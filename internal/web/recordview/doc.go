// Package recordview turns the resources of one person's shared care
// record (what Patient/{id}/$everything returns: every organisation's
// Patient for the person, their clinical resources, and the
// Practitioners, PractitionerRoles, Organizations, Locations and
// Medications those refer to) into one view of the person, under the
// headings of the PRSB Core Information Standard. The clinician portal
// and the patient portal render it with html/template; nothing here
// speaks HTTP or decides who may see what (the record service has done
// that before the resources arrive).
//
// The view reads as one record drawn from every organisation: an item
// that several organisations report (the same medicine from the GP and the
// hospital, the same diagnosis coded by two) is shown once, with every
// organisation that reported it in Sources and every resource in Refs.
// Items are the same when their identity key is, per heading:
//
//	Problems       Condition code (SNOMED CT preferred, else first coding, else text)
//	Medications    medicine code (dm+d preferred) + current or past
//	Allergies      substance code
//	Alerts         Flag code
//	Immunisations  vaccine code + day given
//	Procedures     procedure code + day performed
//	Results        observation code + effective instant + value
//	Timeline       encounter identifier (system|value), else class + service
//	               provider + start instant; documents by type + date + custodian
//	CarePlans      kind (care-plan-kind code, else category code) + active or not
//	Referrals      request code + day authored
//	Appointments   start instant + service type
//	Goals          description
//
// When copies merge, the one with the latest date (then the fuller one) is
// displayed; Sources and Refs are the union, First the earliest date;
// Sealed and Withheld hold if any copy has them, PatientEntered only if
// every copy is the patient's own.
//
// Build never fails for one resource: anything it cannot read is left out
// and counted in Record.Skipped.
package recordview
