package mpitest

import "strings"

// Name pools, most common first: a draw is Zipf-like over each list, so
// Smith and John are as common as they are in England, and a long tail
// of rarer surnames is made from English place-name parts (Ashworth,
// Holroyd), which is how many real ones arose.

var familyCommon = strings.Fields(`Smith Jones Williams Taylor Brown Davies Evans Wilson Thomas Johnson
	Roberts Robinson Thompson Wright Walker White Edwards Hughes Green Hall Lewis Harris Clarke Jackson
	Wood Turner Martin Cooper Hill Ward Morris Moore Clark Lee King Baker Harrison Morgan Allen James
	Scott Phillips Watson Davis Parker Price Bennett Young Griffiths Mitchell Kelly Cook Carter
	Richardson Bailey Collins Bell Shaw Murphy Miller Cox Richards Marshall Anderson Simpson Ellis Adams
	Wilkinson Foster Chapman Powell Webb Rogers Gray Mason Hunt Campbell Matthews Owen Palmer Holmes
	Mills Barnes Knight Lloyd Butler Russell Barker Fisher Stevens Jenkins Murray Dixon Harvey Graham
	Pearson Fletcher Walsh Gibson Howard Andrews Stewart Elliott Reynolds Saunders Payne Fox Ford
	O'Brien Sykes Haigh Greaves Wragg Staniforth Hobson Crookes Ibbotson Hinchliffe Schofield Dyson`)

var familySouthAsian = strings.Fields(`Khan Hussain Ahmed Ali Iqbal Akhtar Mahmood Rashid Shah Patel Singh
	Kaur Begum Malik Sharma Chowdhury Rahman Islam Butt Qureshi`)

var familyOther = strings.Fields(`Nowak Kowalski Wiśniewski Okafor Mensah Osei Chen Wang Wong Nguyen
	Novák Müller García Łukasiewicz Núñez Ó'Súilleabháin`)

var tailHead = strings.Fields(`Ash Hol Brad Ack Black Clough Crook Green Hart Hay Kirk Lang Long Mil
	Nor Oak Pick Rad Ship Stan Thorn Wain Whit Wind Bar Brook Cal Dun Fair Gold Hather Ing Mar Red Rush
	Sand Shaw Wood Yar Brig Calder Cotting Dew Elling Hepple Mid Os Raw Saddle Tod`)

var tailEnd = strings.Fields(`worth royd ley ton field ford ham by thorpe croft wick well dale stead
	hurst cliffe bottom shaw wood bridge wright man son bury more land`)

var tailMid = strings.Fields(`er ing el en s ley ow an`)

var givenMale = strings.Fields(`John David Michael Peter Robert Paul James Stephen Mark Andrew Richard
	Christopher Thomas Daniel William Anthony Kevin Ian Gary Brian Alan Steven Matthew Simon Martin Mohammed
	Jack Oliver Harry George Joseph Edward Philip Graham Keith Neil Kenneth Colin Raymond Dennis Ronald
	Samuel Benjamin Joshua Luke Ryan Adam Lewis Nathan Jamie Liam Jordan Callum Charlie Alfie Noah Leo
	Arthur Frederick Albert Harold Ernest Leonard Frank Donald Roy Trevor Barry Derek Malcolm Geoffrey
	Imran Asif Tariq Bilal Usman Hamza Piotr Tomasz Kwame Wei`)

var givenFemale = strings.Fields(`Margaret Susan Sarah Elizabeth Mary Patricia Linda Christine Helen
	Karen Julie Claire Emma Nicola Lisa Joanne Michelle Rachel Jennifer Catherine Deborah Amanda
	Samantha Rebecca Laura Jessica Sophie Hannah Amy Charlotte Lauren Chloe Emily Olivia Amelia Isla
	Ava Mia Lily Grace Freya Ruby Ellie Jean Dorothy Joan Barbara Kathleen Pauline Sandra Janet Carol
	Valerie Gillian Lesley Wendy Angela Tracey Donna Dawn Kelly Louise Victoria Natalie Zoe Siân Renée
	Fatima Ayesha Zainab Maryam Amina Nadia Anna Katarzyna Grace Chioma Mei`)

// nicknameOf gives a common short form for some formal names, used to
// corrupt records as people give them at a desk.
var nicknameOf = map[string][]string{
	"Robert": {"Bob", "Rob", "Bobby"}, "Elizabeth": {"Liz", "Beth", "Betty", "Lizzie"},
	"William": {"Bill", "Will", "Billy"}, "James": {"Jim", "Jimmy", "Jamie"},
	"John": {"Jack", "Johnny"}, "Richard": {"Rick", "Dick", "Richie"}, "Margaret": {"Maggie", "Peggy"},
	"Anthony": {"Tony"}, "Stephen": {"Steve"}, "Steven": {"Steve"}, "David": {"Dave"},
	"Michael": {"Mike", "Mick"}, "Christopher": {"Chris"}, "Christine": {"Chris", "Tina"},
	"Thomas": {"Tom", "Tommy"}, "Joseph": {"Joe"}, "Edward": {"Ed", "Eddie", "Ted"},
	"Daniel": {"Dan", "Danny"}, "Matthew": {"Matt"}, "Andrew": {"Andy"}, "Samuel": {"Sam"},
	"Samantha": {"Sam"}, "Benjamin": {"Ben"}, "Patricia": {"Pat", "Trish"}, "Catherine": {"Kate", "Cathy"},
	"Susan": {"Sue"}, "Deborah": {"Debbie"}, "Jennifer": {"Jenny", "Jen"}, "Rebecca": {"Becky"},
	"Victoria": {"Vicky"}, "Frederick": {"Fred", "Freddie"}, "Kenneth": {"Ken"}, "Leonard": {"Len"},
	"Ronald": {"Ron"}, "Donald": {"Don"}, "Philip": {"Phil"}, "Albert": {"Bert"}, "Jessica": {"Jess"},
	"Mohammed": {"Muhammad", "Mohammad"}, "Ayesha": {"Aisha"}, "Gillian": {"Gill"}, "Valerie": {"Val"},
	"Kathleen": {"Kath"}, "Dorothy": {"Dot"}, "Nicola": {"Nicky"}, "Charlotte": {"Lottie"},
}

// Places: postcode districts of South Yorkshire, each with a few
// streets.
var districts = strings.Fields(`S1 S2 S3 S4 S5 S6 S7 S8 S9 S10 S11 S12 S13 S14 S17 S20 S35 S60 S61 S62
	S63 S64 S65 S66 DN1 DN2 DN3 DN4 DN5 DN6 DN11 DN12 S70 S71 S72 S73 S75`)

var streets = strings.Fields(`Ecclesall_Road Abbeydale_Road Fulwood_Road Manor_Lane Staniforth_Road
	Spital_Hill Langsett_Road Firth_Park_Road Herries_Road Middlewood_Road Chesterfield_Road
	Gleadless_Road Whitham_Road Barnsley_Road Penistone_Road City_Road Wellgate Moorgate_Road
	Doncaster_Road Bawtry_Road High_Street Church_Lane Station_Road Park_Avenue Victoria_Street
	Queens_Road Mill_Lane Green_Lane School_Lane Kings_Road Albert_Road Cemetery_Road Moor_Lane
	Hall_Road Springfield_Close Rosewood_Drive Oak_Crescent Beech_Grove Elm_Close`)
