package fhirdef

import (
	"os"
	"slices"
	"strings"
	"testing"
)

func TestResourceTypes(t *testing.T) {
	rts := ResourceTypes()
	// R4 4.0.1 has 146 concrete resource types (Resource and DomainResource
	// are abstract; the package's R4B SubscriptionStatus is left out).
	if len(rts) != 146 {
		t.Fatalf("got %d resource types, want 146", len(rts))
	}
	if !slices.IsSorted(rts) {
		t.Error("ResourceTypes not sorted")
	}
	for _, n := range []string{"Patient", "Observation", "Bundle", "Binary", "Parameters", "Questionnaire", "VisionPrescription"} {
		if !IsResourceType(n) {
			t.Errorf("IsResourceType(%q) = false", n)
		}
	}
	for _, n := range []string{"Resource", "DomainResource", "SubscriptionStatus", "HumanName", "string", "MetadataResource", "SimpleQuantity", "patient", ""} {
		if IsResourceType(n) {
			t.Errorf("IsResourceType(%q) = true", n)
		}
	}
}

func TestTypes(t *testing.T) {
	for name, kind := range map[string]string{
		"Patient": KindResource, "Resource": KindResource, "HumanName": KindComplex, "Quantity": KindComplex,
		"SimpleQuantity": KindComplex, "Duration": KindComplex, "Dosage": KindComplex, "Timing": KindComplex,
		"BackboneElement": KindComplex, "Element": KindComplex, "Extension": KindComplex, "Meta": KindComplex,
		"date": KindPrimitive, "xhtml": KindPrimitive, "positiveInt": KindPrimitive,
	} {
		td := Type(name)
		if td == nil {
			t.Errorf("Type(%q) = nil", name)
			continue
		}
		if td.Kind != kind {
			t.Errorf("Type(%q).Kind = %q, want %q", name, td.Kind, kind)
		}
	}
	if Type("SimpleQuantity") != Type("Quantity") {
		t.Error("SimpleQuantity is not Quantity")
	}
	if !Type("Resource").Abstract || !Type("DomainResource").Abstract || Type("Patient").Abstract {
		t.Error("abstract flags wrong")
	}
	if Type("Patient").Base != "DomainResource" || Type("Bundle").Base != "Resource" {
		t.Error("base wrong")
	}
	if Type("NoSuchType") != nil {
		t.Error("Type(NoSuchType) != nil")
	}
}

func TestElements(t *testing.T) {
	p := Type("Patient")
	bd := p.Element("Patient.birthDate")
	if bd == nil || !slices.Equal(bd.Types, []string{"date"}) || !bd.IsSummary || bd.Min != 0 || bd.Max != 1 {
		t.Fatalf("Patient.birthDate = %+v", bd)
	}
	g := p.Element("Patient.name.given")
	if g == nil || g.Path != "HumanName.given" || g.Max != -1 || !slices.Equal(g.Types, []string{"string"}) {
		t.Fatalf("Patient.name.given = %+v", g)
	}
	if e := p.Element("Patient.id"); e == nil || !slices.Equal(e.Types, []string{"id"}) {
		t.Errorf("Patient.id = %+v", e)
	}
	if e := p.Element("Patient.gender"); e == nil || !slices.Equal(e.RequiredCodes, []string{"female", "male", "other", "unknown"}) ||
		!e.CodeAllowed("male") || e.CodeAllowed("M") {
		t.Errorf("Patient.gender = %+v", e)
	}
	if e := p.Element("Patient.deceased[x]"); e == nil || !e.IsChoice() || !e.IsModifier || !slices.Equal(e.Types, []string{"boolean", "dateTime"}) {
		t.Errorf("Patient.deceased[x] = %+v", e)
	}
	if e := p.Element("Patient.contact.relationship"); e == nil || e.Max != -1 {
		t.Errorf("Patient.contact.relationship = %+v", e)
	}
	if e := p.Element("Patient.generalPractitioner"); e == nil || !slices.Contains(e.TargetTypes, "Organization") {
		t.Errorf("Patient.generalPractitioner = %+v", e)
	}
	if p.Element("Patient.nope") != nil || p.Element("Observation.status") != nil || p.Element("Patient.name.nope") != nil {
		t.Error("unknown paths found")
	}

	o := Type("Observation")
	v := o.Element("Observation.value[x]")
	if v == nil || !v.IsChoice() {
		t.Fatalf("Observation.value[x] = %+v", v)
	}
	for _, want := range []string{"Quantity", "string", "CodeableConcept", "boolean", "Period", "SampledData"} {
		if !slices.Contains(v.Types, want) {
			t.Errorf("Observation.value[x] types %v lack %s", v.Types, want)
		}
	}
	if e, typ := o.Child("valueQuantity"); e != v || typ != "Quantity" {
		t.Errorf("Child(valueQuantity) = %v, %q", e, typ)
	}
	if e, _ := o.Child("value"); e != nil {
		t.Error("Child(value) found")
	}
	if e := o.Element("Observation.valueQuantity.value"); e == nil || e.Path != "Quantity.value" || !slices.Equal(e.Types, []string{"decimal"}) {
		t.Errorf("Observation.valueQuantity.value = %+v", e)
	}
	if e := o.Element("Observation.status"); e == nil || e.Min != 1 || !e.CodeAllowed("final") || e.CodeAllowed("done") {
		t.Errorf("Observation.status = %+v", e)
	}
	if e := o.Element("Observation.component.code"); e == nil || e.Min != 1 {
		t.Errorf("Observation.component.code = %+v", e)
	}

	q := Type("Questionnaire")
	ii := q.Element("Questionnaire.item.item")
	if ii == nil || ii.ContentReference != "Questionnaire.item" {
		t.Fatalf("Questionnaire.item.item = %+v", ii)
	}
	if e := q.Element("Questionnaire.item.item.item.linkId"); e == nil || e.Path != "Questionnaire.item.linkId" || e.Min != 1 {
		t.Errorf("nested linkId = %+v", e)
	}
	if e, typ := q.Element("Questionnaire.item").Child("item"); e != ii || typ != "BackboneElement" {
		t.Errorf("item.Child(item) = %v %q", e, typ)
	}

	if e := Type("Extension").Element("Extension.url"); e == nil || e.Min != 1 || !slices.Equal(e.Types, []string{"uri"}) {
		t.Errorf("Extension.url = %+v", e)
	}
	if e := Type("Timing").Element("Timing.repeat.bounds[x]"); e == nil || !slices.Contains(e.Types, "Duration") {
		t.Errorf("Timing.repeat.bounds[x] = %+v", e)
	}
	if e := Type("Bundle").Element("Bundle.entry.resource"); e == nil || !slices.Equal(e.Types, []string{"Resource"}) || e.Content() != nil {
		t.Errorf("Bundle.entry.resource = %+v", e)
	}
	if e := Type("Bundle").Element("Bundle.entry.link.relation"); e == nil || e.Path != "Bundle.link.relation" {
		t.Errorf("Bundle.entry.link.relation = %+v", e)
	}
}

// TestMedplumEditsUndone checks that the R4 definitions are HL7's, not the
// package's edited snapshots (see gen).
func TestMedplumEditsUndone(t *testing.T) {
	for _, p := range []string{"Meta.project", "Meta.author", "Binary.url", "DeviceDefinition.classification", "HealthcareService.offeredIn",
		"ObservationDefinition.publisher", "ResearchStudy.studyDesign", "ResearchStudy.associatedParty", "EvidenceVariable.characteristic.definitionByCombination"} {
		typ := p[:strings.IndexByte(p, '.')]
		if Type(typ).Element(p) != nil {
			t.Errorf("%s exists", p)
		}
	}
	if e := Type("EvidenceVariable").Element("EvidenceVariable.characteristic.definition[x]"); e == nil || e.Min != 1 {
		t.Errorf("EvidenceVariable.characteristic.definition[x] = %+v", e)
	}
	if e := Type("Bundle").Element("Bundle.entry.response.outcome"); e == nil || !slices.Equal(e.Types, []string{"Resource"}) {
		t.Errorf("Bundle.entry.response.outcome = %+v", e)
	}
	if e := Type("ResearchStudy").Element("ResearchStudy.status"); e == nil || !e.CodeAllowed("closed-to-accrual") || e.CodeAllowed("draft") {
		t.Errorf("ResearchStudy.status = %+v", e)
	}
	if e := Type("DetectedIssue").Element("DetectedIssue.status"); e == nil || e.ValueSet != "http://hl7.org/fhir/ValueSet/observation-status" {
		t.Errorf("DetectedIssue.status = %+v", e)
	}
	if e := Type("AuditEvent").Element("AuditEvent.agent.who"); e == nil || len(e.TargetTypes) != 6 {
		t.Errorf("AuditEvent.agent.who = %+v", e)
	}
}

func TestPrimitivePatterns(t *testing.T) {
	cases := []struct {
		typ, v string
		ok     bool
	}{
		{"date", "2020", true}, {"date", "2020-02-29", true}, {"date", "2020-13-01", false}, {"date", "20200101", false},
		{"dateTime", "2015-02-07T13:28:17-05:00", true}, {"dateTime", "2015-02-07T13:28", false},
		{"instant", "2015-02-07T13:28:17.239+02:00", true}, {"instant", "2015-02-07", false},
		{"time", "13:28:17", true}, {"time", "25:00:00", false},
		{"id", "abc-1.2", true}, {"id", "a_b", false},
		{"code", "a b", true}, {"code", " a", false},
		{"unsignedInt", "0", true}, {"unsignedInt", "01", false},
		{"positiveInt", "0", false},
		{"oid", "urn:oid:1.2.3", true}, {"uuid", "urn:uuid:c757873d-ec9a-4326-a141-556f43239520", true},
		{"uri", "a b", false}, {"string", "x\ty", true},
		{"decimal", "1.50", true}, {"decimal", "01", false}, {"boolean", "true", true},
	}
	for _, c := range cases {
		p := Type(c.typ).Pattern()
		if p == nil {
			t.Fatalf("%s has no pattern", c.typ)
		}
		if got := p.MatchString(c.v); got != c.ok {
			t.Errorf("%s %q: match %v, want %v", c.typ, c.v, got, c.ok)
		}
	}
	if Type("xhtml").Pattern() != nil {
		t.Error("xhtml has a pattern")
	}
	for _, td := range []string{"string", "code", "id", "uri", "url", "canonical", "oid", "uuid", "markdown", "base64Binary",
		"date", "dateTime", "instant", "time", "boolean", "integer", "decimal", "positiveInt", "unsignedInt"} {
		if Type(td).Pattern() == nil {
			t.Errorf("%s has no pattern", td)
		}
	}
}

func TestSummaryAndMandatory(t *testing.T) {
	s := SummaryElements("Patient")
	for _, want := range []string{"id", "meta", "implicitRules", "identifier", "active", "name", "gender", "birthDate", "deceasedBoolean", "deceasedDateTime", "link"} {
		if !slices.Contains(s, want) {
			t.Errorf("Patient summary lacks %s: %v", want, s)
		}
	}
	for _, not := range []string{"text", "contained", "extension", "photo", "contact", "communication", "multipleBirthBoolean", "deceased[x]"} {
		if slices.Contains(s, not) {
			t.Errorf("Patient summary has %s", not)
		}
	}
	if m := MandatoryElements("Observation"); !slices.Equal(m, []string{"status", "code"}) {
		t.Errorf("Observation mandatory = %v", m)
	}
	if m := MandatoryElements("MedicationRequest"); !slices.Equal(m, []string{"status", "intent", "medicationCodeableConcept", "medicationReference", "subject"}) {
		t.Errorf("MedicationRequest mandatory = %v", m)
	}
	if m := MandatoryElements("Patient"); len(m) != 0 {
		t.Errorf("Patient mandatory = %v", m)
	}
	if SummaryElements("HumanName") != nil {
		t.Error("summary of a data type")
	}
}

func TestSearchParams(t *testing.T) {
	// search-parameters.json of the package holds 1,378 parameters; one,
	// DeviceDefinition-classification, is R5 (5.0.0-snapshot1, on an element
	// R4 does not have) and is left out.
	all := AllSearchParams()
	if len(all) != 1377 {
		t.Fatalf("got %d search parameters, want 1377", len(all))
	}
	if _, ok := SearchParam("DeviceDefinition", "classification"); ok {
		t.Error("R5 DeviceDefinition-classification present")
	}
	obs := SearchParams("Observation")
	seen := map[string]bool{}
	for _, p := range obs {
		if seen[p.Code] {
			t.Errorf("duplicate Observation parameter %s", p.Code)
		}
		seen[p.Code] = true
	}
	for _, c := range []string{"_id", "_lastUpdated", "_tag", "_profile", "_text", "code", "subject", "patient", "value-quantity", "code-value-quantity", "date"} {
		if !seen[c] {
			t.Errorf("Observation lacks %s", c)
		}
	}
	p, ok := SearchParam("Observation", "code-value-quantity")
	if !ok || p.Type != "composite" || len(p.Components) != 2 || p.MultipleOr || !p.MultipleAnd {
		t.Errorf("code-value-quantity = %+v", p)
	}
	p, ok = SearchParam("Observation", "subject")
	if !ok || p.Type != "reference" || p.Expression != "Observation.subject" || !slices.Contains(p.Target, "Patient") || !p.MultipleOr {
		t.Errorf("subject = %+v", p)
	}
	p, ok = SearchParam("Patient", "birthdate")
	if !ok || p.Type != "date" || !slices.Contains(p.Comparators, "ge") {
		t.Errorf("birthdate = %+v", p)
	}
	if p, ok := SearchParam("Patient", "family"); !ok || p.Type != "string" || !slices.Contains(p.Base, "Patient") {
		t.Errorf("family = %+v", p)
	}
	// DomainResource parameters do not apply to Bundle, Binary, Parameters.
	if _, ok := SearchParam("Bundle", "_text"); ok {
		t.Error("Bundle has _text")
	}
	if _, ok := SearchParam("Bundle", "_id"); !ok {
		t.Error("Bundle lacks _id")
	}
	if _, ok := SearchParam("Nope", "_id"); ok {
		t.Error("unknown type has _id")
	}
	if _, ok := SearchParam("Observation", "nope"); ok {
		t.Error("found nope")
	}
	for _, rt := range ResourceTypes() {
		if _, ok := SearchParam(rt, "_id"); !ok {
			t.Errorf("%s lacks _id", rt)
		}
	}
}

func TestPatientCompartment(t *testing.T) {
	if got := PatientCompartmentParams("Observation"); !slices.Equal(got, []string{"subject", "performer"}) {
		t.Errorf("Observation = %v", got)
	}
	if got := PatientCompartmentParams("Patient"); !slices.Equal(got, []string{"link"}) {
		t.Errorf("Patient = %v", got)
	}
	if got := PatientCompartmentParams("Organization"); got != nil {
		t.Errorf("Organization = %v", got)
	}
	for _, rt := range PatientCompartmentTypes() {
		if !IsResourceType(rt) {
			t.Errorf("compartment type %s unknown", rt)
		}
		for _, code := range PatientCompartmentParams(rt) {
			if _, ok := SearchParam(rt, code); !ok {
				t.Errorf("compartment param %s.%s unknown", rt, code)
			}
		}
	}
}

// TestEveryElementResolves checks the definitions hang together: every
// element's types are known types, and every child lookup by JSON name
// lands on an element.
func TestEveryElementResolves(t *testing.T) {
	names := append(ResourceTypes(), "Resource", "DomainResource", "Element", "BackboneElement")
	for _, td := range []string{"Address", "Age", "Annotation", "Attachment", "CodeableConcept", "Coding", "ContactDetail", "ContactPoint",
		"Contributor", "Count", "DataRequirement", "Distance", "Dosage", "Duration", "ElementDefinition", "Expression", "Extension",
		"HumanName", "Identifier", "MarketingStatus", "Meta", "Money", "Narrative", "ParameterDefinition", "Period", "Population",
		"ProdCharacteristic", "ProductShelfLife", "Quantity", "Range", "Ratio", "Reference", "RelatedArtifact", "SampledData",
		"Signature", "SubstanceAmount", "Timing", "TriggerDefinition", "UsageContext"} {
		names = append(names, td)
	}
	n := 0
	for _, name := range names {
		td := Type(name)
		if td == nil {
			t.Fatalf("no type %s", name)
		}
		for _, e := range td.Elements[1:] {
			n++
			for _, ty := range e.Types {
				if Type(ty) == nil {
					t.Errorf("%s: unknown type %s", e.Path, ty)
				}
			}
			if len(e.Types) == 0 && e.ContentReference == "" {
				t.Errorf("%s: no type", e.Path)
			}
			if td.Element(e.Path) != e {
				t.Errorf("Element(%s) does not find it", e.Path)
			}
		}
	}
	if n < 5000 {
		t.Errorf("only %d elements", n)
	}
}

func TestEmbeddedSize(t *testing.T) {
	fi, err := os.Stat("r4.json.gz")
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() > 1_500_000 {
		t.Errorf("r4.json.gz is %d bytes", fi.Size())
	}
	if int64(len(embedded)) != fi.Size() {
		t.Error("embedded file differs from r4.json.gz")
	}
}

func BenchmarkLoad(b *testing.B) {
	for b.Loop() {
		if _, err := load(embedded); err != nil {
			b.Fatal(err)
		}
	}
}
