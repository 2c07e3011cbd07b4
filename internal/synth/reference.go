package synth

// The reference Bundle: every Organization, Location, Practitioner and
// PractitionerRole, which person bundles refer to by id. Each resource's
// meta.source is the organisation it describes or belongs to.

func (w *world) writeReference() ([]byte, int) {
	f := &fhirWriter{jw: jw{b: make([]byte, 0, 4<<20)}, w: w}
	f.obj("")
	f.str("resourceType", "Bundle")
	f.str("type", "transaction")
	f.arr("entry")
	for i := range w.orgs {
		f.organization(i)
	}
	for i := range w.locs {
		f.location(i)
	}
	for i := range w.pracs {
		f.practitionerResource(i)
	}
	for i := range w.pracs {
		f.practitionerRole(i)
	}
	f.endArr()
	f.end()
	return f.b, f.n
}

func (f *fhirWriter) organization(i int) {
	w := f.w
	o := &w.orgs[i]
	f.src = sourcePrefix + o.ods
	f.begin("Organization", o.id, notSensitive)
	f.arr("identifier")
	f.obj("")
	f.str("system", sysODS)
	f.str("value", o.ods)
	f.end()
	f.endArr()
	f.boolean("active", true)
	f.arr("type")
	f.obj("")
	f.arr("coding")
	switch o.kind {
	case orgICB, orgNational, orgCouncil:
		f.coding("", code{sysOrgType, "govt", "Government"})
	default:
		f.coding("", code{sysOrgType, "prov", "Healthcare Provider"})
	}
	f.endArr()
	f.str("text", orgKindNames[o.kind])
	f.end()
	f.endArr()
	f.str("name", o.name)
	if o.phone != "" {
		f.arr("telecom")
		f.obj("")
		f.str("system", "phone")
		f.str("value", o.phone)
		f.str("use", "work")
		f.end()
		f.endArr()
	}
	f.arr("address")
	f.obj("")
	f.str("use", "work")
	f.arr("line")
	f.item(o.addr.line)
	f.endArr()
	f.str("city", o.addr.town)
	if o.addr.area >= 0 {
		f.str("district", "South Yorkshire")
	}
	f.str("postalCode", o.addr.postcode)
	f.str("country", "GB")
	f.end()
	f.endArr()
	if o.kind != orgICB && o.kind != orgNational {
		f.ref("partOf", "Organization", w.orgs[w.icb].id)
	}
	f.finish()
}

func (f *fhirWriter) location(i int) {
	w := f.w
	l := &w.locs[i]
	o := &w.orgs[l.org]
	f.src = sourcePrefix + o.ods
	f.begin("Location", l.id, notSensitive)
	if l.code != "" {
		f.arr("identifier")
		f.obj("")
		f.str("system", sysODSSite)
		f.str("value", l.code)
		f.end()
		f.endArr()
	}
	f.str("status", "active")
	f.str("name", l.name)
	f.str("mode", "instance")
	if l.kind == locED {
		f.concepts("type", code{"http://terminology.hl7.org/CodeSystem/v3-RoleCode", "ER", "Emergency room"})
	}
	switch l.kind {
	case locSite:
		f.concept("physicalType", code{sysLocPhysical, "si", "Site"})
	case locWard, locDayUnit:
		f.concept("physicalType", code{sysLocPhysical, "wa", "Ward"})
	default:
		f.concept("physicalType", code{sysLocPhysical, "area", "Area"})
	}
	if l.kind == locSite {
		f.obj("address")
		f.str("use", "work")
		f.arr("line")
		f.item(l.addr.line)
		f.endArr()
		f.str("city", l.addr.town)
		f.str("district", "South Yorkshire")
		f.str("postalCode", l.addr.postcode)
		f.str("country", "GB")
		f.end()
	}
	f.ref("managingOrganization", "Organization", o.id)
	if l.parent >= 0 {
		f.ref("partOf", "Location", w.locs[l.parent].id)
	}
	f.finish()
}

func (f *fhirWriter) practitionerResource(i int) {
	w := f.w
	pr := &w.pracs[i]
	f.src = sourcePrefix + w.orgs[pr.org].ods
	f.begin("Practitioner", pr.id, notSensitive)
	f.arr("identifier")
	if reg := jobRoles[pr.role].reg; reg != "" && pr.reg != "" {
		f.obj("")
		f.str("system", reg)
		f.str("value", pr.reg)
		f.end()
	}
	f.obj("")
	f.str("system", sysSDSUser)
	f.str("value", pr.sds)
	f.end()
	f.endArr()
	f.boolean("active", true)
	f.arr("name")
	f.obj("")
	f.str("family", pr.family)
	f.arr("given")
	f.item(pr.given)
	f.endArr()
	if pre := jobRoles[pr.role].prefix; pre != "" {
		f.arr("prefix")
		f.item(pre)
		f.endArr()
	}
	f.end()
	f.endArr()
	if pr.sex == 'M' {
		f.str("gender", "male")
	} else {
		f.str("gender", "female")
	}
	f.finish()
}

func (f *fhirWriter) practitionerRole(i int) {
	w := f.w
	pr := &w.pracs[i]
	f.src = sourcePrefix + w.orgs[pr.org].ods
	f.begin("PractitionerRole", pr.roleID, notSensitive)
	f.boolean("active", true)
	f.ref("practitioner", "Practitioner", pr.id)
	f.ref("organization", "Organization", w.orgs[pr.org].id)
	f.concepts("code", jobRoles[pr.role].code)
	if pr.role == roleConsultant {
		f.arr("specialty")
		f.obj("")
		f.str("text", specialties[pr.spec].name)
		f.end()
		f.endArr()
	}
	f.finish()
}
