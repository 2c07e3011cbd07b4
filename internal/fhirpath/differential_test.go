package fhirpath

// A differential test against the reference implementation, npm
// fhirpath@5.2.2 (HL7/fhirpath.js), run by node. See TestDifferentialFHIRPathJS.

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"

	"fmt"
	"io"
	"math"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sharedcare/sharedcare/internal/fhirdef"
)

const (
	diffSharedDir   = "../../../shared/conformance"
	diffSyntheaFile = diffSharedDir + "/synthea/hiv-r4.tar.gz"
	diffInputDir    = diffSharedDir + "/fhirpath/input-json"
	diffKnownFile   = "testdata/differential/known.txt"
	// diffPerType is how many Synthea resources of each type are used.
	diffPerType = 3
)

// diffEnableHint is how to enable the test. The package.json override is
// needed where the npm registry lacks @lhncbc/ucum-lhc 7.1.10 (fhirpath
// 5.2.2 asks for ^7.1.10; 7.1.9 has the same API); elsewhere it is harmless.
const diffEnableHint = `d=$(mktemp -d) && (cd $d && echo '{"private":true,"overrides":{"@lhncbc/ucum-lhc":"7.1.9"}}' >package.json && npm install --no-audit --no-fund fhirpath@5.2.2) && FHIRPATH_JS_DIR=$d go test -run Differential ./internal/fhirpath/`

// diffNodeScript reads JSON lines {id, expr, resource} on stdin, evaluates
// each with fhirpath.js against the R4 model and writes JSON lines
// {id, result, types} or {id, error}. Results are normalised the way the Go
// side normalises ours (see diffNormOurs): FHIR nodes as their JSON,
// System dates and times as their string form, Quantities as {value, unit}.
//
// resolve(): fhirpath.js fetches relative references from a FHIR server.
// To compare like with like, fetch is replaced by a stub behaving like our
// engine without a Resolver: "Type/id" gives a stand-in {resourceType, id},
// canonical searches find nothing, anything else is not found.
const diffNodeScript = `'use strict';
const path = require('path');
const readline = require('readline');
const dir = process.argv[2];
const fhirpath = require(path.join(dir, 'node_modules', 'fhirpath'));
const r4 = require(path.join(dir, 'node_modules', 'fhirpath', 'fhir-context', 'r4'));
const STANDIN = 'http://stand-in.invalid';

globalThis.fetch = async function (input) {
  const url = String(input && input.url ? input.url : input);
  let body = null;
  if (url.startsWith(STANDIN + '/')) {
    const rest = url.slice(STANDIN.length + 1);
    if (rest.includes('?')) {
      body = {resourceType: 'Bundle', type: 'searchset', total: 0, entry: []};
    } else {
      const parts = rest.split('/');
      if (parts.length >= 2 && parts[0] && parts[1]) body = {resourceType: parts[0], id: parts[1]};
    }
  }
  if (!body) return new Response('not found', {status: 404});
  return new Response(JSON.stringify(body), {status: 200, headers: {'Content-Type': 'application/fhir+json'}});
};

function num(d) {
  if (d === null || d === undefined) return null;
  if (typeof d === 'number') return d;
  if (typeof d.asStr === 'string') return Number(d.asStr);
  if (typeof d.value === 'number') return d.value;
  return Number(String(d));
}

function conv(x) {
  if (x === null || x === undefined) return null;
  const cn = x.constructor && x.constructor.name;
  if (cn === 'FP_Quantity') {
    let unit = x.unit;
    if (typeof unit === 'string' && unit.length >= 2 && unit[0] === "'" && unit[unit.length - 1] === "'") unit = unit.slice(1, -1);
    return {value: num(x.value), unit: unit};
  }
  if (cn === 'FP_DateTime' || cn === 'FP_Date' || cn === 'FP_Time' || cn === 'FP_Instant') return x.toString();
  const v = fhirpath.resolveInternalTypes(x);
  if (v !== null && typeof v === 'object' && !Array.isArray(v) && typeof v.asStr === 'string') return Number(v.asStr);
  return v === undefined ? null : v;
}

async function main() {
  const rl = readline.createInterface({input: process.stdin, crlfDelay: Infinity});
  const out = [];
  for await (const line of rl) {
    if (!line.trim()) continue;
    const c = JSON.parse(line);
    const rec = {id: c.id};
    try {
      const env = c.resource ? {resource: c.resource, rootResource: c.resource} : {};
      let r = fhirpath.evaluate(c.resource, c.expr, env, r4,
        {resolveInternalTypes: false, async: true, fhirServerUrl: STANDIN});
      if (r && typeof r.then === 'function') r = await r;
      let types = [];
      try { types = fhirpath.types(r); } catch (e) { types = []; }
      rec.result = r.map(conv);
      rec.types = types;
    } catch (e) {
      rec.error = String(e && e.message ? e.message : e).split('\n')[0];
    }
    out.push(JSON.stringify(rec));
    if (out.length >= 200) { process.stdout.write(out.join('\n') + '\n'); out.length = 0; }
  }
  if (out.length) process.stdout.write(out.join('\n') + '\n');
}
main().catch(e => { console.error(e && e.stack || e); process.exitCode = 1; });
`

// diffCase is one expression evaluated against one input.
type diffCase struct {
	ID       string          `json:"id"`
	Expr     string          `json:"expr"`
	Resource json.RawMessage `json:"resource"`
	input    any             // Resource decoded with UseNumber, for our engine
	label    string          // short name of the input, for reports
}

type diffJSOut struct {
	ID     string   `json:"id"`
	Result []any    `json:"result"`
	Types  []string `json:"types"`
	Error  *string  `json:"error"`
}

// diffGeneral are hand-written expressions over the official suite's inputs.
var diffGeneral = []struct{ in, expr string }{
	// paths, where/select/exists/all
	{"patient-example", "Patient.name.given"},
	{"patient-example", "Patient.name.where(use = 'official').given.first()"},
	{"patient-example", "Patient.name.given.count()"},
	{"patient-example", "Patient.name.select(given.first() + ' ' + family)"},
	{"patient-example", "Patient.name.all(given.exists())"},
	{"patient-example", "Patient.name.exists(use = 'nickname')"},
	{"patient-example", "Patient.telecom.where(system = 'phone' and use = 'work').value"},
	{"patient-example", "Patient.telecom.where(use = 'home').exists()"},
	{"patient-example", "Patient.name.given.distinct()"},
	{"patient-example", "Patient.name.given.isDistinct()"},
	{"patient-example", "Patient.name.first().given.tail()"},
	{"patient-example", "Patient.name.given.skip(1).take(2)"},
	{"patient-example", "Patient.name.given.last()"},
	{"patient-example", "Patient.name[1].given"},
	{"patient-example", "Patient.name.given.exclude('Jim')"},
	{"patient-example", "Patient.name.given.intersect('Jim' | 'Peter')"},
	{"patient-example", "Patient.name.given.combine(Patient.name.family).count()"},
	{"patient-example", "(Patient.name.given | Patient.name.family).count()"},
	{"patient-example", "Patient.name.given.subsetOf(Patient.name.given | 'x')"},
	{"patient-example", "Patient.name.given.aggregate($total + 1, 0)"},
	{"patient-example", "Patient.name.select($index)"},
	{"patient-example", "Patient.name.where(given.first() = 'Jim').use"},
	{"patient-example", "Patient.contact.relationship.coding.code"},
	{"patient-example", "Patient.identifier.where(system.contains('1.2.36')).value"},
	{"patient-example", "Patient.managingOrganization.reference.substring(13)"},
	{"patient-example", "Patient.address.period.start"},
	{"patient-example", "Patient.address.line.count() > 0"},
	// strings
	{"patient-example", "Patient.name.family.upper()"},
	{"patient-example", "Patient.name.family.lower()"},
	{"patient-example", "Patient.name.family.first().length()"},
	{"patient-example", "Patient.name.family.first().startsWith('Cha')"},
	{"patient-example", "Patient.name.family.first().endsWith('ers')"},
	{"patient-example", "Patient.name.family.first().contains('mer')"},
	{"patient-example", "Patient.name.family.first().replace('a', 'A')"},
	{"patient-example", "Patient.name.family.first().indexOf('l')"},
	{"patient-example", "Patient.name.family.first().matches('^Ch.*s$')"},
	{"patient-example", "Patient.name.family.first().replaceMatches('[aeiou]', '_')"},
	{"patient-example", "Patient.name.family.first().toChars().count()"},
	{"patient-example", "Patient.name.family.first().substring(1, 3)"},
	{"", "'a,b,c'.split(',').count()"},
	{"", "'  padded '.trim()"},
	{"", "'abc' + 'def'"},
	{"", "'abc' & {}"},
	{"", "'12'.toInteger() + 1"},
	{"", "'1.5'.toDecimal() * 2"},
	{"", "'true'.toBoolean()"},
	{"", "1.toString() + 'x'"},
	{"", "'abc'.startsWith('')"},
	{"", "('a' | 'b' | 'c').join('-')"},
	// booleans, iif, dates
	{"patient-example", "Patient.active and Patient.deceased.not()"},
	{"patient-example", "iif(Patient.active, 'yes', 'no')"},
	{"patient-example", "iif(Patient.gender = 'female', 1, 2)"},
	{"patient-example", "Patient.birthDate + 1 year"},
	{"patient-example", "Patient.birthDate < @2000-01-01"},
	{"patient-example", "Patient.birthDate.toString().substring(0, 4)"},
	{"patient-example", "today() > Patient.birthDate"},
	{"patient-example", "Patient.birthDate.extension('http://hl7.org/fhir/StructureDefinition/patient-birthTime').value"},
	{"patient-example", "Patient.birthDate.extension.value is dateTime"},
	{"patient-example", "Patient.birthDate.hasValue()"},
	{"", "@2012-04-15 + 1 month"},
	{"", "@2012-01-31 + 1 month"},
	{"", "@2019-02-03T01:00Z - 1 hour"},
	{"", "@2014-01-01 < @2014-01-02"},
	{"", "@2012-04-15T15:00:00Z = @2012-04-15T10:00:00-05:00"},
	{"", "@2012 = @2012-04"},
	{"", "@T10:30 < @T11:00"},
	{"", "@2014-01-01T08:00:00.000+02:00 ~ @2014-01-01T06:00:00Z"},
	// arithmetic with decimals and quantities
	{"", "1.5 + 2.25"},
	{"", "10 / 4"},
	{"", "7 div 2"},
	{"", "7 mod 3"},
	{"", "-5.5.abs()"},
	{"", "2.5 * 4.0"},
	{"", "1.0 / 3"},
	{"", "3.14159.round(2)"},
	{"", "1 + 2 * 3 - 4"},
	{"", "(0.1 + 0.2) = 0.3"},
	{"", "1.0 = 1"},
	{"", "1.10 ~ 1.1"},
	{"", "5 'mg' + 3 'mg'"},
	{"", "1 'g' = 1000 'mg'"},
	{"", "10 'cm' > 1 'm'"},
	{"", "2.0 'cm' * 3"},
	{"", "4 days = 4 'd'"},
	{"observation-example", "Observation.value.value * 2"},
	{"observation-example", "(Observation.value.value / 3).round(2)"},
	{"observation-example", "Observation.value.value div 2"},
	{"observation-example", "Observation.value.value mod 7"},
	{"observation-example", "Observation.value.unit"},
	{"observation-example", "(Observation.value as Quantity) > 100 '[lb_av]'"},
	{"observation-example", "Observation.value"},
	{"observation-example", "Observation.valueQuantity.value"},
	{"observation-example", "Observation.effective + 1 day"},
	{"observation-example", "Observation.effective.toString()"},
	{"observation-example", "Observation.effective > @2016-01-01"},
	{"observation-example", "Observation.code.coding.where(system = %loinc).code"},
	{"observation-example", "Observation.code.coding.code contains '29463-7'"},
	{"observation-example", "'3141-9' in Observation.code.coding.code"},
	{"observation-example", "Observation.extension('http://example.com/fhir/StructureDefinition/patient-age').value"},
	{"observation-example", "Observation.extension.value.value + 1"},
	{"observation-example", "Observation.subject.resolve() is Patient"},
	{"observation-example", "Observation.subject.where(resolve() is Patient).reference"},
	// type tests
	{"", "1 is Integer"},
	{"", "1.0 is Decimal"},
	{"", "'a' is String"},
	{"", "@2012 is Date"},
	{"", "(1 | 'a' | true).ofType(Integer)"},
	{"patient-example", "Patient.deceased is boolean"},
	{"patient-example", "Patient.deceased is Boolean"},
	{"patient-example", "Patient.deceased.ofType(boolean)"},
	{"patient-example", "Patient.birthDate is date"},
	{"patient-example", "Patient.name.first() is HumanName"},
	{"patient-example", "Patient.birthDate.type().name"},
	{"patient-example", "Patient.type().namespace"},
	{"observation-example", "Observation.effective is dateTime"},
	{"observation-example", "Observation.effective.ofType(dateTime)"},
	{"observation-example", "Observation.value is Quantity"},
	{"parameters-example-types", "Parameters.parameter.value"},
	{"parameters-example-types", "Parameters.parameter.value.ofType(integer)"},
	{"parameters-example-types", "Parameters.parameter.where(name = 'decimal').value + 1"},
	{"parameters-example-types", "Parameters.parameter.value is decimal"},
	{"parameters-example-types", "Parameters.parameter.value.type().name"},
	// collections of literals
	{"", "{}.empty()"},
	{"", "(1 | 2 | 3).where($this > 1)"},
	{"", "(1 | 2 | 3).select($this * 2)"},
	{"", "(1 | 2 | 3).all($this > 0)"},
	{"", "(1 | 2 | 3).exists($this > 2)"},
	{"", "(1 | 2 | 2).distinct().count()"},
	{"", "(1 | 2) = (1 | 2)"},
	// extensions and primitive extensions
	{"patient-name-extensions", "Patient.name.given"},
	{"patient-name-extensions", "Patient.name.given.count()"},
	{"patient-name-extensions", "Patient.name.given.extension.value"},
	{"patient-name-extensions", "Patient.name.given.first().extension('https://example.org/syllable-count').value"},
	{"patient-name-extensions", "Patient.name.given.hasValue()"},
	// descendants and repeat
	{"patient-example", "Patient.descendants().count()"},
	{"patient-example", "Patient.descendants().ofType(HumanName).count()"},
	{"patient-example", "Patient.children().count()"},
	{"questionnaire-example", "Questionnaire.descendants().linkId.count()"},
	{"questionnaire-example", "Questionnaire.repeat(item).linkId"},
	{"questionnaire-example", "Questionnaire.item.item.where(type = 'choice').text"},
	{"questionnaire-example", "Questionnaire.descendants().ofType(Coding).code"},
	{"valueset-example-expansion", "ValueSet.expansion.contains.code"},
	{"valueset-example-expansion", "ValueSet.expansion.repeat(contains).count()"},
	{"valueset-example-expansion", "ValueSet.expansion.contains.where(system.endsWith('loinc.org')).display.first()"},
	{"codesystem-example", "CodeSystem.concept.code"},
	{"codesystem-example", "CodeSystem.descendants().ofType(Coding).count()"},
	{"appointment-examplereq", "Appointment.participant.actor.reference"},
	{"appointment-examplereq", "Appointment.participant.actor.resolve().id"},
	{"appointment-examplereq", "Appointment.minutesDuration * 60"},
	{"explanationofbenefit-example", "ExplanationOfBenefit.item.informationSequence"},
	{"explanationofbenefit-example", "ExplanationOfBenefit.supportingInfo.where(sequence in %resource.item.informationSequence).sequence"},
	{"patient-container-example", "Patient.contained.id"},
	{"patient-container-example", "Patient.managingOrganization.resolve()"},
	{"patient-example-period", "Patient.identifier.period.start < Patient.identifier.period.end"},
	{"patient-example-period", "Patient.name.period.end"},
	// conversions and edge cases
	{"", "(1 'mg').toString()"},
	{"", "@2012-01-01T10:00:00.000Z.toString()"},
	{"", "'abc'.substring(5)"},
	{"", "1 / 0"},
	{"", "(1.2 / 1.8).round(2)"},
	{"", "(1.0 / 3).toString()"},
	{"", "'2012-04-15'.toDate()"},
	{"", "'1 mg'.toQuantity()"},
	{"", "(5.5).toInteger()"},
	{"", "(2.50).toString()"},
	{"patient-example", "Patient.name.given[7]"},
	{"patient-example", "Patient.birthDate.toString()"},
	{"observation-example", "Observation.value.toString()"},
	{"observation-example", "Observation.value.value.toString()"},
	{"patient-name-extensions", "Patient.name.given.first().extension.url"},
	// %resource
	{"patient-example", "%resource.id"},
}

// diffKnown is one allowlist entry of testdata/differential/known.txt.
type diffKnown struct {
	kind, pattern, reason string
	used                  int
}

// diffLoadKnown reads the allowlist: lines "KIND PATTERN ;; REASON", KIND
// one of expr (the expression, exactly), contains (a substring of the
// expression) or id (the case id, exactly); '#' starts a comment line.
func diffLoadKnown(t *testing.T) []*diffKnown {
	data, err := os.ReadFile(diffKnownFile)
	if err != nil {
		t.Fatal(err)
	}
	var out []*diffKnown
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		kind, rest, _ := strings.Cut(line, " ")
		pattern, reason, ok := strings.Cut(rest, " ;; ")
		if !ok || strings.TrimSpace(reason) == "" {
			t.Fatalf("%s:%d: want \"KIND PATTERN ;; REASON\": %q", diffKnownFile, i+1, line)
		}
		switch kind {
		case "expr", "contains", "id":
		default:
			t.Fatalf("%s:%d: unknown kind %q", diffKnownFile, i+1, kind)
		}
		out = append(out, &diffKnown{kind: kind, pattern: strings.TrimSpace(pattern), reason: strings.TrimSpace(reason)})
	}
	return out
}

func diffMatchKnown(known []*diffKnown, c *diffCase) *diffKnown {
	for _, k := range known {
		if (k.kind == "expr" && c.Expr == k.pattern) || (k.kind == "id" && c.ID == k.pattern) ||
			(k.kind == "contains" && strings.Contains(c.Expr, k.pattern)) {
			return k
		}
	}
	return nil
}

func diffDecode(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

func diffMakeCase(id, label, expr string, raw json.RawMessage) (*diffCase, error) {
	c := &diffCase{ID: id, Expr: expr, Resource: raw, label: label}
	if len(raw) > 0 {
		v, err := diffDecode(raw)
		if err != nil {
			return nil, err
		}
		c.input = v
	} else {
		c.Resource = json.RawMessage("null")
	}
	return c, nil
}

// diffSearchParamsFor returns the distinct search parameter expressions
// that apply to a resource type, each with the codes that use it.
func diffSearchParamsFor(params []fhirdef.SearchParameter, rt string) (exprs []string, codes map[string]string) {
	codes = map[string]string{}
	for _, sp := range params {
		if sp.Expression == "" {
			continue
		}
		applies := false
		for _, b := range sp.Base {
			if b == rt || b == "Resource" || (b == "DomainResource" && rt != "Bundle" && rt != "Binary" && rt != "Parameters") {
				applies = true
			}
		}
		if !applies {
			continue
		}
		if _, ok := codes[sp.Expression]; !ok {
			exprs = append(exprs, sp.Expression)
			codes[sp.Expression] = sp.Code
		} else {
			codes[sp.Expression] += "," + sp.Code
		}
	}
	return exprs, codes
}

// diffSynthea picks up to diffPerType resources of each type from the
// Synthea bundles, each from a different bundle and a different position in
// it, so the shapes vary. Missing archive: nil.
func diffSynthea(t *testing.T) (map[string][]json.RawMessage, []string) {
	f, err := os.Open(diffSyntheaFile)
	if err != nil {
		t.Logf("no Synthea archive (%v): search parameters only over the suite's inputs", err)
		return nil, nil
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	picked := map[string][]json.RawMessage{}
	var order []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag != tar.TypeReg || !strings.HasSuffix(h.Name, ".json") {
			continue
		}
		var b struct {
			Entry []struct {
				Resource json.RawMessage `json:"resource"`
			} `json:"entry"`
		}
		if err := json.NewDecoder(tr).Decode(&b); err != nil {
			t.Fatalf("%s: %v", h.Name, err)
		}
		byType := map[string][]json.RawMessage{}
		var types []string
		for _, e := range b.Entry {
			var head struct {
				ResourceType string `json:"resourceType"`
			}
			if json.Unmarshal(e.Resource, &head) != nil || head.ResourceType == "" {
				continue
			}
			if byType[head.ResourceType] == nil {
				types = append(types, head.ResourceType)
			}
			byType[head.ResourceType] = append(byType[head.ResourceType], e.Resource)
		}
		for _, rt := range types {
			n := len(picked[rt])
			if n >= diffPerType {
				continue
			}
			if n == 0 {
				order = append(order, rt)
			}
			list := byType[rt]
			picked[rt] = append(picked[rt], list[n*len(list)/diffPerType])
		}
	}
	return picked, order
}

func diffResourceLabel(raw json.RawMessage) string {
	var head struct {
		ResourceType string `json:"resourceType"`
		ID           string `json:"id"`
	}
	json.Unmarshal(raw, &head)
	return head.ResourceType + "/" + head.ID
}

// diffCorpus builds every case.
func diffCorpus(t *testing.T) []*diffCase {
	var cases []*diffCase
	seen := map[string]bool{}
	add := func(id, label, expr string, raw json.RawMessage) {
		if seen[id] {
			t.Fatalf("duplicate case id %q", id)
		}
		seen[id] = true
		c, err := diffMakeCase(id, label, expr, raw)
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		cases = append(cases, c)
	}
	params := fhirdef.AllSearchParams()

	// The suite's inputs, by name.
	inputs := map[string]json.RawMessage{}
	entries, err := os.ReadDir(diffInputDir)
	if err != nil {
		t.Skipf("no FHIRPath suite inputs: %v", err)
	}
	var inputNames []string
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(diffInputDir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, data); err != nil {
			t.Fatalf("%s: %v", e.Name(), err)
		}
		name := strings.TrimSuffix(e.Name(), ".json")
		inputs[name] = buf.Bytes()
		inputNames = append(inputNames, name)
	}
	sort.Strings(inputNames)

	// (1) search parameter expressions over Synthea resources and the
	// suite's inputs.
	synthea, order := diffSynthea(t)
	spOver := func(origin string, raw json.RawMessage) {
		label := diffResourceLabel(raw)
		rt, _, _ := strings.Cut(label, "/")
		exprs, codes := diffSearchParamsFor(params, rt)
		for _, x := range exprs {
			add("sp:"+codes[x]+"@"+origin+":"+label, origin+":"+label, x, raw)
		}
	}
	for _, rt := range order {
		for _, raw := range synthea[rt] {
			var buf bytes.Buffer
			if err := json.Compact(&buf, raw); err != nil {
				t.Fatal(err)
			}
			spOver("synthea", buf.Bytes())
		}
	}
	for _, name := range inputNames {
		spOver(name, inputs[name])
	}

	// (2) hand-written expressions.
	for _, g := range diffGeneral {
		var raw json.RawMessage
		if g.in != "" {
			var ok bool
			if raw, ok = inputs[g.in]; !ok {
				t.Fatalf("no input %s", g.in)
			}
		}
		add("x:"+g.in+":"+g.expr, g.in, g.expr, raw)
	}
	return cases
}

// diffRunNode runs the node script once over all cases.
func diffRunNode(t *testing.T, dir string, cases []*diffCase) (map[string]*diffJSOut, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, err
	}
	script := filepath.Join(t.TempDir(), "differential.js")
	if err := os.WriteFile(script, []byte(diffNodeScript), 0o644); err != nil {
		t.Fatal(err)
	}
	var in bytes.Buffer
	enc := json.NewEncoder(&in)
	enc.SetEscapeHTML(false)
	for _, c := range cases {
		if err := enc.Encode(c); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, script, dir)
	cmd.Stdin = &in
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("node: %v\n%s", err, stderr.String())
	}
	out := map[string]*diffJSOut{}
	sc := bufio.NewScanner(&stdout)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.UseNumber()
		var r diffJSOut
		if err := dec.Decode(&r); err != nil {
			return nil, fmt.Errorf("node output %q: %v", sc.Text(), err)
		}
		out[r.ID] = &r
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(out) != len(cases) {
		return nil, fmt.Errorf("node answered %d of %d cases\n%s", len(out), len(cases), stderr.String())
	}
	return out, nil
}

// diffNormOurs turns one of our values into its natural JSON form.
func diffNormOurs(v Value) any {
	if v.Namespace() == "System" {
		switch x := v.Node().(type) {
		case bool:
			return x
		case string:
			return x
		case int64:
			return json.Number(strconv.FormatInt(x, 10))
		case Decimal:
			return diffDecimal(x)
		case DateTime:
			return x.String()
		case Quantity:
			return map[string]any{"value": diffDecimal(x.Value), "unit": x.Unit}
		}
	}
	return diffRoundTrip(v.Node())
}

// diffDecimal is a decimal's exact value: its text when that is exact,
// else (a quotient such as 1.0/3, which we print to 8 places) the nearest
// float64, as fhirpath.js computes it.
func diffDecimal(d Decimal) json.Number {
	s := d.String()
	if r, ok := new(big.Rat).SetString(s); ok && r.Cmp(d.Rat()) == 0 {
		return json.Number(s)
	}
	f, _ := d.Rat().Float64()
	return json.Number(strconv.FormatFloat(f, 'g', -1, 64))
}

// diffRoundTrip makes a JSON node of anything (maps keep json.Number).
func diffRoundTrip(x any) any {
	b, err := json.Marshal(x)
	if err != nil {
		return fmt.Sprintf("<%v>", err)
	}
	v, err := diffDecode(b)
	if err != nil {
		return fmt.Sprintf("<%v>", err)
	}
	return v
}

var diffDateRE = regexp.MustCompile(`^\d{4}(-\d\d(-\d\d(T\d\d(:\d\d(:\d\d(\.\d+)?)?)?(Z|[+-]\d\d:\d\d)?)?)?)?$|^\d\d(:\d\d(:\d\d(\.\d+)?)?)?$`)

// diffNormDate makes equal instants written differently compare equal where
// only the spelling of UTC differs.
func diffNormDate(s string) string {
	for _, z := range []string{"+00:00", "-00:00"} {
		if strings.HasSuffix(s, z) {
			return strings.TrimSuffix(s, z) + "Z"
		}
	}
	return s
}

func diffNumEqual(a, b json.Number) bool {
	ra, ok1 := new(big.Rat).SetString(string(a))
	rb, ok2 := new(big.Rat).SetString(string(b))
	if ok1 && ok2 && ra.Cmp(rb) == 0 {
		return true
	}
	fa, err1 := a.Float64()
	fb, err2 := b.Float64()
	if err1 != nil || err2 != nil {
		return false
	}
	// fhirpath.js computes in binary floating point.
	return math.Abs(fa-fb) <= 1e-9*math.Max(1, math.Max(math.Abs(fa), math.Abs(fb)))
}

func diffEqual(a, b any) bool {
	switch x := a.(type) {
	case nil:
		return b == nil
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case json.Number:
		y, ok := b.(json.Number)
		return ok && diffNumEqual(x, y)
	case string:
		y, ok := b.(string)
		if !ok {
			return false
		}
		if x == y {
			return true
		}
		return diffDateRE.MatchString(x) && diffDateRE.MatchString(y) && diffNormDate(x) == diffNormDate(y)
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !diffEqual(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, xv := range x {
			yv, ok := y[k]
			if !ok || !diffEqual(xv, yv) {
				return false
			}
		}
		return true
	}
	return false
}

func diffShort(v any) string {
	b, _ := json.Marshal(v)
	s := string(b)
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// diffResult is the outcome of one case.
type diffResult struct {
	c            *diffCase
	ours, theirs string // short forms, for reports
	oursTypes    []string
	theirTypes   []string
	known        *diffKnown
}

// TestDifferentialFHIRPathJS compares our engine with fhirpath.js 5.2.2
// over the R4 search parameter expressions (on Synthea resources and the
// suite's inputs) and a hand-written list of general expressions. It fails
// on differences not explained in testdata/differential/known.txt.
//
// Enable it with an npm install of fhirpath@5.2.2 in a directory named by
// FHIRPATH_JS_DIR. FHIRPATH_DIFF_REPORT=FILE writes every difference (also
// the known ones) to FILE as JSON lines.
func TestDifferentialFHIRPathJS(t *testing.T) {
	dir := os.Getenv("FHIRPATH_JS_DIR")
	if dir == "" {
		t.Skip("differential test against fhirpath.js disabled; enable it with: " + diffEnableHint)
	}
	start := time.Now()
	known := diffLoadKnown(t)
	fail := func(err error) {
		if os.Getenv("CI") == "true" {
			t.Fatalf("fhirpath.js could not be run: %v", err)
		}
		t.Skipf("fhirpath.js could not be run: %v (enable with: %s)", err, diffEnableHint)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "fhirpath", "package.json")); err != nil {
		fail(fmt.Errorf("fhirpath is not installed in FHIRPATH_JS_DIR=%s: %v", dir, err))
	}
	cases := diffCorpus(t)
	theirs, err := diffRunNode(t, dir, cases)
	if err != nil {
		fail(err)
	}

	var agree, agreeNonEmpty, differ, bothErr, knownN int
	var unexpected, allowed []diffResult
	for _, c := range cases {
		js := theirs[c.ID]
		var ours []Value
		expr, oerr := Compile(c.Expr)
		if oerr == nil {
			ours, oerr = expr.EvaluateOptions(c.input, nil, Options{})
		}
		if oerr != nil && js.Error != nil {
			bothErr++
			continue
		}
		r := diffResult{c: c, theirTypes: js.Types}
		same := false
		if oerr == nil && js.Error == nil {
			norm := make([]any, len(ours))
			for i, v := range ours {
				norm[i] = diffNormOurs(v)
				r.oursTypes = append(r.oursTypes, v.Namespace()+"."+v.Type())
			}
			theirsNorm := diffRoundTrip(js.Result)
			if theirsNorm == nil {
				theirsNorm = []any{}
			}
			same = diffEqual(any(norm), theirsNorm)
			r.ours, r.theirs = diffShort(norm), diffShort(js.Result)
		} else if oerr != nil {
			r.ours, r.theirs = "error: "+strings.SplitN(oerr.Error(), "\n", 2)[0], diffShort(js.Result)
		} else {
			norm := make([]any, len(ours))
			for i, v := range ours {
				norm[i] = diffNormOurs(v)
			}
			r.ours, r.theirs = diffShort(norm), "error: "+*js.Error
		}
		if same {
			agree++
			if len(ours) > 0 {
				agreeNonEmpty++
			}
			continue
		}
		differ++
		if k := diffMatchKnown(known, c); k != nil {
			k.used++
			knownN++
			r.known = k
			allowed = append(allowed, r)
		} else {
			unexpected = append(unexpected, r)
		}
	}

	t.Logf("fhirpath differential: %d agree, %d differ, %d both error of %d", agree, differ, bothErr, len(cases))
	t.Logf("%d of the agreements are non-empty; %d differences are known (%s), %d are not; %s",
		agreeNonEmpty, knownN, diffKnownFile, len(unexpected), time.Since(start).Round(time.Millisecond))
	logResult := func(r diffResult) {
		why := ""
		if r.known != nil {
			why = "\n    known: " + r.known.reason
		}
		t.Logf("%s\n    expr:   %s\n    input:  %s\n    ours:   %s %v\n    theirs: %s %v%s", r.c.ID, r.c.Expr, r.c.label, r.ours, r.oursTypes, r.theirs, r.theirTypes, why)
	}
	shown := 0
	for _, r := range unexpected {
		if shown == 30 {
			break
		}
		logResult(r)
		shown++
	}
	verbose := os.Getenv("FHIRPATH_DIFF_VERBOSE") != ""
	for _, r := range allowed {
		if shown == 30 && !verbose {
			break
		}
		logResult(r)
		shown++
	}
	for _, k := range known {
		if k.used == 0 {
			t.Logf("known.txt entry matched no difference: %s %s", k.kind, k.pattern)
		}
	}
	if path := os.Getenv("FHIRPATH_DIFF_REPORT"); path != "" {
		var buf bytes.Buffer
		for _, r := range append(unexpected, allowed...) {
			reason := ""
			if r.known != nil {
				reason = r.known.reason
			}
			b, _ := json.Marshal(map[string]any{"id": r.c.ID, "expr": r.c.Expr, "input": r.c.label,
				"ours": r.ours, "theirs": r.theirs, "oursTypes": r.oursTypes, "theirTypes": r.theirTypes, "known": reason})
			buf.Write(b)
			buf.WriteByte('\n')
		}
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Error(err)
		}
	}
	if len(unexpected) > 0 {
		t.Errorf("%d differences from fhirpath.js are not in %s (see above)", len(unexpected), diffKnownFile)
	}
}
