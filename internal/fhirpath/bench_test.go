package fhirpath

import "testing"

func BenchmarkSubjectWhereResolveIsPatient(b *testing.B) {
	obs := decode(b, sampleObservation)
	x := MustCompile("Observation.subject.where(resolve() is Patient)")
	b.ReportAllocs()
	for b.Loop() {
		out, err := x.Evaluate(obs, nil)
		if err != nil || len(out) != 1 {
			b.Fatal(out, err)
		}
	}
}

func BenchmarkPatientNameGiven(b *testing.B) {
	pat := decode(b, samplePatient)
	x := MustCompile("Patient.name.given")
	b.ReportAllocs()
	for b.Loop() {
		out, err := x.Evaluate(pat, nil)
		if err != nil || len(out) != 4 {
			b.Fatal(out, err)
		}
	}
}

func BenchmarkCompile(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compile("Patient.name.where(use = 'official').given.first() | Patient.identifier.where(system = %nhs).value"); err != nil {
			b.Fatal(err)
		}
	}
}
