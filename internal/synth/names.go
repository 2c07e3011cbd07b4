package synth

import (
	"math/rand/v2"
	"strings"
)

// Names, hand-written: the commonest given names of England and Wales by
// decade of birth (after the ONS baby-name tables and earlier registers),
// common English and Yorkshire family names, and names of the larger
// communities of South Yorkshire (Pakistani and Indian heritage, African,
// Chinese, Polish). Written without diacritics, so every system that
// receives them spells them the same; misspellings are made on purpose
// elsewhere.

// nameEra groups birth years whose given names differ.
func nameEra(birthYear int) int {
	switch {
	case birthYear < 1945:
		return 0
	case birthYear < 1965:
		return 1
	case birthYear < 1985:
		return 2
	case birthYear < 2005:
		return 3
	}
	return 4
}

var britishMale = [5][]string{
	fields(`John William George Thomas James Arthur Frederick Albert Harold Ernest Charles Robert Walter Henry
		Kenneth Stanley Leonard Frank Joseph Alfred Edward Herbert Sidney Dennis Ronald Donald Raymond Cyril
		Norman Reginald Eric Jack Harry Peter Roy Leslie Douglas Wilfred Clifford Bernard`),
	fields(`David John Michael Peter Robert Stephen Paul Anthony Brian Alan Christopher Keith Richard Graham Ian
		Kevin Colin Martin Trevor Barry Terence Philip Malcolm Geoffrey Roger Gary Andrew Mark Derek Nigel Neil
		Raymond Patrick Clive Gordon Dennis Kenneth Roy Stuart Howard`),
	fields(`Paul Mark David Andrew Richard Christopher James Simon Michael Matthew Darren Jason Lee Craig Stephen
		Neil Jonathan Daniel Wayne Gary Dean Carl Martin Scott Adam Robert Ian Anthony Steven Kevin Philip Sean
		Shaun Nicholas Peter Russell Gareth Glen Karl Stuart`),
	fields(`Daniel Thomas James Matthew Joshua Luke Ryan Jack Adam Christopher Samuel Benjamin Liam Jordan Lewis
		Callum Jake Nathan Michael Connor Alexander Kieran Bradley Joseph Aaron Jamie Harry Oliver Ashley Scott
		Dean Reece Jonathan William Kyle Craig Sam Robert Andrew Tom`),
	fields(`Oliver Jack Harry George Noah Charlie Jacob Alfie Freddie Oscar Leo Logan Archie Theo Thomas James
		Joshua Henry William Max Lucas Ethan Arthur Mason Isaac Harrison Teddy Finley Daniel Riley Edward Joseph
		Alexander Adam Reggie Samuel Jaxon Sebastian Elijah Tommy`),
}

var britishFemale = [5][]string{
	fields(`Margaret Mary Joan Dorothy Doris Irene Joyce Kathleen Elsie Edna Winifred Betty Marjorie Vera Ivy
		Hilda Gladys Lilian Florence Violet Ethel Elizabeth Phyllis Jean Eileen Audrey Sylvia Barbara Edith
		Evelyn Mabel Alice Annie Nellie Muriel Olive Freda Peggy Pauline Beryl`),
	fields(`Susan Linda Christine Margaret Janet Patricia Carol Elizabeth Mary Anne Ann Jacqueline Sandra Pamela
		Valerie Barbara Gillian Lesley Julie Karen Diane Jennifer Maureen Brenda Sheila Jean Marion Kathleen
		Wendy Deborah Elaine Lynn Angela Helen Denise Hazel Shirley Janice Frances Dawn`),
	fields(`Sarah Claire Nicola Emma Lisa Joanne Michelle Helen Samantha Karen Amanda Rachel Louise Julie Clare
		Rebecca Kelly Tracey Donna Dawn Victoria Kerry Catherine Angela Deborah Alison Natalie Jennifer Caroline
		Suzanne Sharon Lucy Kirsty Gemma Laura Hayley Jane Andrea Kim Stacey`),
	fields(`Rebecca Laura Jessica Sophie Emma Hannah Amy Charlotte Lauren Sarah Chloe Emily Katie Gemma Samantha
		Amber Danielle Natalie Stacey Jade Kayleigh Holly Rachel Bethany Megan Georgia Leanne Zoe Abigail
		Eleanor Victoria Jennifer Lucy Ellie Alice Olivia Kirsty Naomi Hollie Jodie`),
	fields(`Olivia Amelia Isla Ava Mia Ivy Lily Isabella Rosie Sophia Grace Freya Willow Florence Emily Ella Poppy
		Evie Elsie Charlotte Evelyn Sienna Daisy Phoebe Sophie Harper Ruby Matilda Isabelle Millie Alice Maisie
		Layla Chloe Jessica Erin Lola Scarlett Eva Hannah`),
}

var britishFamily = fields(`Smith Jones Williams Taylor Brown Davies Evans Wilson Thomas Johnson Roberts Robinson
	Thompson Wright Walker White Edwards Hughes Green Hall Lewis Harris Clarke Jackson Wood Turner Martin Cooper
	Hill Ward Morris Moore Clark Lee King Baker Harrison Morgan Allen James Scott Phillips Watson Davis Parker
	Price Bennett Young Griffiths Mitchell Kelly Cook Carter Richardson Bailey Collins Bell Shaw Murphy Miller
	Cox Richards Marshall Anderson Simpson Ellis Adams Wilkinson Foster Chapman Powell Webb Rogers Gray Mason
	Hunt Campbell Matthews Owen Palmer Holmes Mills Barnes Knight Lloyd Butler Russell Barker Fisher Stevens
	Jenkins Murray Dixon Harvey Graham Pearson Fletcher Walsh Gibson Howard Andrews Stewart Elliott Reynolds
	Saunders Payne Fox Ford Pearce Day Brooks West Lawrence Cole Atkinson Bradley Spencer Gill Dawson Ball
	Burton O'Brien Watts Rose Booth Perry Ryan Grant Wells Armstrong Francis Rees Hayes Hart Hudson Newton
	Barrett Holland Porter Robertson Marsh Hardy Hodgson Sykes Haigh Greaves Wragg Staniforth Hobson Crookes
	Beever Senior Crossland Ibbotson Hinchliffe Schofield Lockwood Firth Dyson Broadhead Hague Ackroyd Oxley
	Jessop Mellor Stainton Wainwright Whiteley Hirst Bramley`)

var southAsianMale = fields(`Mohammed Muhammad Ahmed Ali Imran Asif Tariq Zubair Bilal Usman Hamza Adil Arif Shahid
	Nadeem Rizwan Farhan Amir Zain Ibrahim Yusuf Aryan Rohan Raj Sanjay Vikram Harpreet Gurpreet Amarjit Sukhdev`)

var southAsianFemale = fields(`Fatima Ayesha Aisha Zainab Maryam Amina Sana Nadia Saima Shazia Rubina Nasreen Samina
	Farzana Bushra Hina Iqra Khadija Hafsa Zara Priya Anjali Sunita Neha Pooja Harjit Manjit Simran Jaspreet Kiran`)

var pakistaniFamily = fields(`Khan Hussain Ahmed Ali Iqbal Akhtar Mahmood Rashid Shah Aslam Butt Malik Mirza
	Qureshi Rehman Sharif Javed Nawaz Anwar Bashir`)

var indianFamily = fields(`Patel Singh Kaur Sharma Gupta Kumar Mistry Parmar Sandhu Gill Bains Dhillon`)

var bangladeshiFamily = fields(`Begum Chowdhury Islam Uddin Miah Rahman Hoque Ahmed Ali Khatun`)

var africanMale = fields(`Emmanuel Samuel David Daniel Joseph Kwame Chinedu Oluwaseun Abdi Mohamed Tendai Kofi Yaw Segun Tunde`)

var africanFemale = fields(`Grace Blessing Esther Mercy Faith Chioma Ngozi Amina Fadumo Hodan Abena Adwoa Funmilayo Chipo Ruth`)

var africanFamily = fields(`Okafor Adeyemi Mensah Osei Mohamed Abdi Hassan Moyo Ncube Okonkwo Adebayo Boateng Asante Warsame Farah`)

var caribbeanFamily = fields(`Campbell Williams Brown Clarke Thompson Francis Grant Reid Johnson Morgan Edwards Bailey`)

var chineseMale = fields(`Wei Jun Ming Lei Hao Jian Kai Bo`)

var chineseFemale = fields(`Li Hui Xin Yan Jing Mei Ling Xiu`)

var chineseFamily = fields(`Chen Wang Li Zhang Liu Wong Lam Cheung Ho Ng`)

var polishMale = fields(`Piotr Tomasz Krzysztof Pawel Marcin Michal Lukasz Jakub Kamil Mateusz`)

var polishFemale = fields(`Anna Katarzyna Magdalena Agnieszka Joanna Monika Ewa Natalia Karolina Aleksandra`)

var polishFamily = fields(`Nowak Kowalski Wisniewski Wojcik Kaminski Lewandowski Zielinski Szymanski Kozlowski Mazur`)

func fields(s string) []string { return strings.Fields(s) }

// nameGroup is the pool a person's names are drawn from, following their
// ethnic category (people of every background carry British names too).
type nameGroup uint8

const (
	namesBritish nameGroup = iota
	namesPakistani
	namesIndian
	namesBangladeshi
	namesAfrican
	namesCaribbean
	namesChinese
	namesPolish
)

func givenName(r *rand.Rand, g nameGroup, sex byte, birthYear int) string {
	male := sex == 'M'
	switch g {
	case namesPakistani, namesIndian, namesBangladeshi:
		if birthYear >= 1990 && chance(r, 0.2) {
			break // a British-born generation: some British names
		}
		if male {
			return pick(r, southAsianMale)
		}
		return pick(r, southAsianFemale)
	case namesAfrican:
		if male {
			return pick(r, africanMale)
		}
		return pick(r, africanFemale)
	case namesChinese:
		if chance(r, 0.5) {
			break
		}
		if male {
			return pick(r, chineseMale)
		}
		return pick(r, chineseFemale)
	case namesPolish:
		if birthYear >= 2008 && chance(r, 0.4) {
			break
		}
		if male {
			return pick(r, polishMale)
		}
		return pick(r, polishFemale)
	}
	era := nameEra(birthYear)
	if male {
		return pick(r, britishMale[era])
	}
	return pick(r, britishFemale[era])
}

func familyName(r *rand.Rand, g nameGroup) string {
	switch g {
	case namesPakistani:
		return pick(r, pakistaniFamily)
	case namesIndian:
		return pick(r, indianFamily)
	case namesBangladeshi:
		return pick(r, bangladeshiFamily)
	case namesAfrican:
		return pick(r, africanFamily)
	case namesCaribbean:
		return pick(r, caribbeanFamily)
	case namesChinese:
		return pick(r, chineseFamily)
	case namesPolish:
		return pick(r, polishFamily)
	}
	return pick(r, britishFamily)
}

// misspell makes the kind of error a busy registration desk makes: a
// transposed pair, a dropped or doubled letter, or a common variant.
func misspell(r *rand.Rand, s string) string {
	if v, ok := nameVariants[s]; ok && chance(r, 0.6) {
		return v
	}
	if len(s) < 4 {
		return s + "e"
	}
	b := []byte(s)
	i := between(r, 1, len(b)-2)
	switch r.IntN(3) {
	case 0:
		b[i], b[i+1] = b[i+1], b[i]
		if string(b) == s {
			b = append(b[:i], b[i+1:]...)
		}
	case 1:
		b = append(b[:i], b[i+1:]...)
	default:
		b = append(b[:i+1], b[i:]...)
	}
	return string(b)
}

var nameVariants = map[string]string{
	"Smith": "Smyth", "Thompson": "Thomson", "Clarke": "Clark", "Clark": "Clarke", "Davies": "Davis",
	"Davis": "Davies", "Stephen": "Steven", "Steven": "Stephen", "Philip": "Phillip", "Jon": "John",
	"Mohammed": "Mohammad", "Muhammad": "Mohammed", "Hussain": "Hussein", "Ann": "Anne", "Anne": "Ann",
	"Catherine": "Katherine", "Sean": "Shaun", "Shaun": "Sean", "Rachel": "Rachael", "Lee": "Leigh",
	"Matthews": "Mathews", "Gray": "Grey", "Hayley": "Haley", "Zoe": "Zoey", "Reece": "Rees",
	"O'Brien": "OBrien", "Ibbotson": "Ibottson", "Staniforth": "Stanniforth",
}
