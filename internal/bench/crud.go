package bench

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The CRUD mix reproduces the shape of the CRUD scenario of Health
// Samurai's public FHIR server performance benchmark
// (github.com/HealthSamurai/fhir-server-performance-benchmark, k6/crud.js;
// the results the project's targets cite: about 4,000 requests/s for the
// best commercial server, 3,900 for HAPI, 1,400 for Medplum, on 8 vCPU).
// There every virtual user loops over one iteration:
//
//  1. create nine linked resources, one POST each, in this order:
//     Patient, Location, Organization, Practitioner, Encounter (of the
//     Patient, at the Location, by the Practitioner, for the
//     Organization), Observation (of the Patient, in the Encounter),
//     MedicationRequest, Claim, ExplanationOfBenefit;
//  2. read each by id;
//  3. update each with a PUT of the whole resource with one element
//     changed (a status, a name, a date);
//  4. delete each, in the reverse order.
//
// So creates, reads, updates and deletes are a quarter of the requests
// each, every user works only on what it created (the run needs no data
// and leaves only history behind), and the rate is all requests over the
// wall time. They ran 300 virtual users for 5 to 10 minutes; here the
// users are Options.Concurrency. The resources are our own, of the same
// types and about the size of Synthea's.

// crudTypes are the types of one iteration, in creation order.
var crudTypes = []string{"Patient", "Location", "Organization", "Practitioner", "Encounter", "Observation", "MedicationRequest", "Claim", "ExplanationOfBenefit"}

// crudRequests is the number of requests one iteration sends.
var crudRequests = 4 * len(crudTypes)

// CRUD runs the CRUD mix and returns the Result of all its requests,
// named "crud", then one per operation ("crud/create", "crud/read",
// "crud/update", "crud/delete").
func CRUD(ctx context.Context, c *Client, o Options) ([]Result, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	r := newRunner(c, o)
	elapsed := r.run(ctx, crudRequests, crudIteration)
	out := []Result{r.result("crud", elapsed)}
	for _, op := range []string{"create", "read", "update", "delete"} {
		out = append(out, r.result("crud/"+op, elapsed, op))
	}
	return out, nil
}

// crudState is a worker's count of its iterations, for identifiers.
type crudState struct{ n int }

// crudIteration is one iteration of one virtual user.
func crudIteration(ctx context.Context, w *worker) {
	st, _ := w.state.(*crudState)
	if st == nil {
		st = &crudState{}
		w.state = st
	}
	st.n++
	serial := strconv.Itoa(w.id) + "-" + strconv.Itoa(st.n)
	refs := map[string]string{}
	var created []string // types, in creation order
	for _, typ := range crudTypes {
		rp := w.do(ctx, "create", http.MethodPost, typ, crudBody(typ, "", serial, refs, false), true, http.StatusCreated)
		if !rp.ok {
			break // what follows refers to it
		}
		id := refID(rp.location, typ)
		if id == "" {
			var res struct {
				ID string `json:"id"`
			}
			json.Unmarshal(rp.body, &res)
			id = res.ID
		}
		if id == "" {
			w.fail("create", "no id", "POST "+typ+": 201 with neither a Location nor an id")
			break
		}
		refs[typ] = typ + "/" + id
		created = append(created, typ)
	}
	for _, typ := range created {
		w.do(ctx, "read", http.MethodGet, refs[typ], nil, false, http.StatusOK)
	}
	for _, typ := range created {
		id := strings.TrimPrefix(refs[typ], typ+"/")
		w.do(ctx, "update", http.MethodPut, refs[typ], crudBody(typ, id, serial, refs, true), false, http.StatusOK)
	}
	for i := len(created) - 1; i >= 0; i-- {
		w.do(ctx, "delete", http.MethodDelete, refs[created[i]], nil, false, http.StatusOK, http.StatusNoContent)
	}
}

// crudBody is the resource of type typ sent by a create (id empty) or an
// update, referring to the resources of the iteration in refs. An update
// changes one element, as the original does: a status, a gender, a name
// or a date.
func crudBody(typ, id, serial string, refs map[string]string, update bool) []byte {
	v := crudCreated[typ]
	if update {
		switch typ {
		case "Location", "Organization":
			v = "-" + strconv.FormatInt(time.Now().UnixMilli(), 10)
		case "Observation":
			v = time.Now().UTC().Format("2006-01-02T15:04:05.000Z07:00")
		case "Claim", "ExplanationOfBenefit":
			v = time.Now().UTC().Format(time.RFC3339)
		default:
			v = crudUpdated[typ]
		}
	}
	var b strings.Builder
	b.WriteString(`{"resourceType":"` + typ + `",`)
	if id != "" {
		b.WriteString(`"id":"` + id + `",`)
	}
	args := []string{"{{V}}", v, "{{N}}", serial}
	for _, t := range crudTypes {
		args = append(args, "{{"+t+"}}", refs[t])
	}
	strings.NewReplacer(args...).WriteString(&b, crudTemplates[typ])
	return []byte(b.String())
}

// crudCreated and crudUpdated are the values of the element an update
// changes ({{V}}), where they are fixed.
var crudCreated = map[string]string{
	"Patient": "female", "Practitioner": "male", "Location": "", "Organization": "",
	"Encounter": "planned", "Observation": "2024-01-01T09:10:00.000+00:00",
	"MedicationRequest": "active", "Claim": "2024-01-01T09:30:00+00:00", "ExplanationOfBenefit": "2024-01-01T09:30:00+00:00",
}

var crudUpdated = map[string]string{
	"Patient": "other", "Practitioner": "unknown", "Encounter": "in-progress", "MedicationRequest": "on-hold",
}

// crudTemplates are the resources' members after resourceType and id.
// {{V}} is the element an update changes, {{N}} a serial number unique
// to the worker and iteration, {{Type}} a reference to the iteration's
// resource of that type.
var crudTemplates = map[string]string{
	"Patient": `"text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">Ada Grace Benchmark, born 1970-01-01</div>"},` +
		`"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/patient-birthPlace","valueAddress":{"city":"Leeds","country":"GB"}}],` +
		`"identifier":[{"system":"https://sharedcare.example/bench/patient","value":"P{{N}}"},` +
		`{"type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0203","code":"MR","display":"Medical record number"}],"text":"Medical record number"},"system":"https://sharedcare.example/bench/mrn","value":"M{{N}}"}],` +
		`"name":[{"use":"official","family":"Benchmark","given":["Ada","Grace"],"prefix":["Ms."]}],` +
		`"telecom":[{"system":"phone","value":"0113 496 0000","use":"home"}],` +
		`"gender":"{{V}}","birthDate":"1970-01-01",` +
		`"address":[{"line":["1 Bench Street"],"city":"Leeds","postalCode":"LS1 1AA","country":"GB"}],` +
		`"maritalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-MaritalStatus","code":"M","display":"Married"}],"text":"Married"},` +
		`"communication":[{"language":{"coding":[{"system":"urn:ietf:bcp:47","code":"en-GB","display":"English (Great Britain)"}],"text":"English"}}]}`,
	"Location": `"status":"active","name":"Bench Ward{{V}}",` +
		`"telecom":[{"system":"phone","value":"0113 496 0001"}],` +
		`"address":{"line":["1 Infirmary Street"],"city":"Leeds","postalCode":"LS1 3EX","country":"GB"},` +
		`"position":{"longitude":-1.5491,"latitude":53.7997},` +
		`"managingOrganization":{"display":"Bench Hospital"}}`,
	"Organization": `"identifier":[{"system":"https://sharedcare.example/bench/organization","value":"O{{N}}"}],"active":true,` +
		`"type":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/organization-type","code":"prov","display":"Healthcare Provider"}],"text":"Healthcare Provider"}],` +
		`"name":"Bench Hospital{{V}}","telecom":[{"system":"phone","value":"0113 496 0002"}],` +
		`"address":[{"line":["1 Infirmary Street"],"city":"Leeds","postalCode":"LS1 3EX","country":"GB"}]}`,
	"Practitioner": `"identifier":[{"system":"https://sharedcare.example/bench/practitioner","value":"D{{N}}"}],"active":true,` +
		`"name":[{"family":"Bench","given":["Alan"],"prefix":["Dr."]}],` +
		`"telecom":[{"system":"email","value":"alan.bench@example.org","use":"work"}],` +
		`"address":[{"line":["1 Infirmary Street"],"city":"Leeds","postalCode":"LS1 3EX","country":"GB"}],` +
		`"gender":"{{V}}"}`,
	"Encounter": `"status":"{{V}}","class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"AMB"},` +
		`"type":[{"coding":[{"system":"http://snomed.info/sct","code":"185349003","display":"Encounter for check up (procedure)"}],"text":"Encounter for check up (procedure)"}],` +
		`"subject":{"reference":"{{Patient}}","display":"Ms. Ada Grace Benchmark"},` +
		`"participant":[{"type":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ParticipationType","code":"PPRF","display":"primary performer"}],"text":"primary performer"}],` +
		`"period":{"start":"2024-01-01T09:00:00+00:00","end":"2024-01-01T09:30:00+00:00"},"individual":{"reference":"{{Practitioner}}","display":"Dr. Alan Bench"}}],` +
		`"period":{"start":"2024-01-01T09:00:00+00:00","end":"2024-01-01T09:30:00+00:00"},` +
		`"location":[{"location":{"reference":"{{Location}}","display":"Bench Ward"}}],` +
		`"serviceProvider":{"reference":"{{Organization}}","display":"Bench Hospital"}}`,
	"Observation": `"status":"final",` +
		`"category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs","display":"vital-signs"}]}],` +
		`"code":{"coding":[{"system":"http://loinc.org","code":"8867-4","display":"Heart rate"}],"text":"Heart rate"},` +
		`"subject":{"reference":"{{Patient}}"},"encounter":{"reference":"{{Encounter}}"},` +
		`"effectiveDateTime":"2024-01-01T09:10:00+00:00","issued":"{{V}}",` +
		`"valueQuantity":{"value":72,"unit":"/min","system":"http://unitsofmeasure.org","code":"/min"}}`,
	"MedicationRequest": `"status":"{{V}}","intent":"order",` +
		`"medicationCodeableConcept":{"coding":[{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":"314076","display":"lisinopril 10 MG Oral Tablet"}],"text":"lisinopril 10 MG Oral Tablet"},` +
		`"subject":{"reference":"{{Patient}}"},"encounter":{"reference":"{{Encounter}}"},` +
		`"authoredOn":"2024-01-01T09:20:00+00:00","requester":{"reference":"{{Practitioner}}","display":"Dr. Alan Bench"},` +
		`"dosageInstruction":[{"sequence":1,"text":"One tablet daily","timing":{"repeat":{"frequency":1,"period":1,"periodUnit":"d"}},"asNeededBoolean":false,` +
		`"doseAndRate":[{"type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/dose-rate-type","code":"ordered","display":"Ordered"}]},"doseQuantity":{"value":1}}]}]}`,
	"Claim": `"status":"active","type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/claim-type","code":"pharmacy"}]},"use":"claim",` +
		`"patient":{"reference":"{{Patient}}"},` +
		`"billablePeriod":{"start":"2024-01-01T09:00:00+00:00","end":"2024-01-01T09:30:00+00:00"},"created":"{{V}}",` +
		`"provider":{"reference":"{{Organization}}","display":"Bench Hospital"},` +
		`"priority":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/processpriority","code":"normal"}]},` +
		`"prescription":{"reference":"{{MedicationRequest}}"},` +
		`"insurance":[{"sequence":1,"focal":true,"coverage":{"display":"NHS"}}],` +
		`"item":[{"sequence":1,"productOrService":{"coding":[{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":"314076","display":"lisinopril 10 MG Oral Tablet"}],"text":"lisinopril 10 MG Oral Tablet"},` +
		`"encounter":[{"reference":"{{Encounter}}"}]}],` +
		`"total":{"value":12.5,"currency":"GBP"}}`,
	"ExplanationOfBenefit": `"contained":[{"resourceType":"Coverage","id":"coverage","status":"active","type":{"text":"NHS"},"beneficiary":{"reference":"{{Patient}}"},"payor":[{"display":"NHS"}]}],` +
		`"identifier":[{"system":"https://sharedcare.example/bench/eob","value":"E{{N}}"}],` +
		`"status":"active","type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/claim-type","code":"pharmacy"}]},"use":"claim",` +
		`"patient":{"reference":"{{Patient}}"},` +
		`"billablePeriod":{"start":"2024-01-01T09:00:00+00:00","end":"2024-01-01T09:30:00+00:00"},"created":"{{V}}",` +
		`"insurer":{"display":"NHS"},"provider":{"reference":"{{Practitioner}}"},"claim":{"reference":"{{Claim}}"},"outcome":"complete",` +
		`"careTeam":[{"sequence":1,"provider":{"reference":"{{Practitioner}}"},"role":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/claimcareteamrole","code":"primary","display":"Primary provider"}]}}],` +
		`"insurance":[{"focal":true,"coverage":{"reference":"#coverage"}}],` +
		`"item":[{"sequence":1,"productOrService":{"coding":[{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":"314076","display":"lisinopril 10 MG Oral Tablet"}],"text":"lisinopril 10 MG Oral Tablet"},` +
		`"encounter":[{"reference":"{{Encounter}}"}],"net":{"value":12.5,"currency":"GBP"}}],` +
		`"total":[{"category":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/adjudication","code":"submitted","display":"Submitted Amount"}]},"amount":{"value":12.5,"currency":"GBP"}}],` +
		`"payment":{"amount":{"value":0,"currency":"GBP"}}}`,
}
