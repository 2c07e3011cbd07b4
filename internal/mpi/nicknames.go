package mpi

// nicknames maps a normalised given name to the formal names it is
// commonly short for or a spelling of. A modest table of English names
// (and a few common transliterations) seen in UK registration data; it
// is not a dictionary of every diminutive. A name may stand for several
// ("chris": christopher, christine, christina), and comparison looks for
// any formal name in common, so "Bob" agrees with "Robert" and "Rob"
// with "Bob".
var nicknames = map[string][]string{}

// nicknameGroups lists each formal name followed by its short forms and
// variant spellings.
var nicknameGroups = [][]string{
	{"robert", "rob", "robbie", "bob", "bobby", "bert", "robby"},
	{"elizabeth", "liz", "lizzie", "lizzy", "beth", "betty", "bet", "bess", "eliza", "libby", "elisabeth", "lisa", "betsy"},
	{"william", "will", "bill", "billy", "willie", "willy", "liam"},
	{"james", "jim", "jimmy", "jamie", "jimmie"},
	{"john", "jack", "johnny", "jon", "johnnie", "jonny"},
	{"jonathan", "jon", "jonny", "johnathan"},
	{"richard", "rich", "rick", "ricky", "dick", "richie"},
	{"margaret", "maggie", "meg", "peggy", "madge", "margo", "marge", "maisie", "greta", "rita"},
	{"anthony", "tony", "ant", "antony"},
	{"stephen", "steve", "steven", "stevie"},
	{"david", "dave", "davey", "davy"},
	{"michael", "mike", "mick", "micky", "mickey", "mikey"},
	{"christopher", "chris", "kit", "topher"},
	{"christine", "chris", "chrissie", "christina", "tina", "kristine"},
	{"thomas", "tom", "tommy"},
	{"joseph", "joe", "joey"},
	{"josephine", "jo", "josie"},
	{"joanne", "jo", "joanna", "joann"},
	{"edward", "ed", "eddie", "ted", "teddy", "ned"},
	{"edwin", "ed", "eddie"},
	{"daniel", "dan", "danny"},
	{"matthew", "matt", "matty"},
	{"andrew", "andy", "drew"},
	{"alexander", "alex", "sandy", "xander", "alec"},
	{"alexandra", "alex", "sandra", "lexi", "alexa"},
	{"benjamin", "ben", "benny"},
	{"samuel", "sam", "sammy"},
	{"samantha", "sam", "sammy"},
	{"nicholas", "nick", "nicky", "nicolas"},
	{"nicola", "nicky", "nikki", "nichola"},
	{"patricia", "pat", "patty", "trish", "tricia"},
	{"patrick", "pat", "paddy"},
	{"catherine", "cath", "cathy", "kate", "katie", "kath", "kathy", "katherine", "kathryn", "kay", "cathryn"},
	{"kathleen", "kath", "kathy", "kay"},
	{"susan", "sue", "susie", "suzanne", "suzy"},
	{"deborah", "debbie", "deb", "debra"},
	{"jennifer", "jen", "jenny", "jenni"},
	{"rebecca", "becky", "becca", "bex"},
	{"victoria", "vicky", "vicki", "tori"},
	{"charlotte", "charlie", "lottie"},
	{"charles", "charlie", "chas", "chuck"},
	{"frederick", "fred", "freddie", "freddy"},
	{"henry", "harry", "hal", "hank"},
	{"harold", "harry", "hal"},
	{"gerald", "gerry", "jerry"},
	{"geoffrey", "geoff", "jeff", "jeffrey"},
	{"kenneth", "ken", "kenny"},
	{"leonard", "len", "lenny", "leo"},
	{"lawrence", "laurence", "larry", "laurie"},
	{"peter", "pete"},
	{"philip", "phil", "phillip"},
	{"raymond", "ray"},
	{"ronald", "ron", "ronnie"},
	{"donald", "don", "donny"},
	{"terence", "terry", "terrence"},
	{"timothy", "tim", "timmy"},
	{"gregory", "greg"},
	{"douglas", "doug", "dougie"},
	{"albert", "bert", "albie", "al"},
	{"alfred", "alf", "alfie", "fred"},
	{"arthur", "art", "artie"},
	{"bernard", "bernie"},
	{"clifford", "cliff"},
	{"stanley", "stan"},
	{"walter", "walt", "wally"},
	{"ernest", "ernie"},
	{"archibald", "archie"},
	{"theodore", "theo", "ted", "teddy"},
	{"oliver", "ollie", "olly"},
	{"olivia", "liv", "livvy", "ollie"},
	{"isabella", "bella", "izzy", "isabel", "isobel", "isabelle"},
	{"amelia", "millie", "amy"},
	{"emily", "em", "emmy", "millie"},
	{"mildred", "millie"},
	{"abigail", "abbie", "abby", "gail"},
	{"eleanor", "ellie", "nell", "nora", "elinor"},
	{"helen", "nell", "nellie", "ellen"},
	{"dorothy", "dot", "dottie", "dolly", "dora"},
	{"florence", "flo", "florrie", "flossie"},
	{"frances", "fran", "fanny", "frankie"},
	{"francis", "frank", "frankie"},
	{"jacqueline", "jackie", "jacky"},
	{"barbara", "barb", "babs"},
	{"pamela", "pam"},
	{"sandra", "sandy"},
	{"valerie", "val"},
	{"gillian", "gill", "jill", "gillie"},
	{"jessica", "jess", "jessie"},
	{"ann", "anne", "annie", "anna", "nan"},
	{"mary", "molly", "polly", "mae", "maria", "marie"},
	{"sarah", "sara", "sally", "sadie"},
	{"rachel", "rachael"},
	{"louise", "lou", "lulu", "louisa"},
	{"natalie", "nat", "natasha", "tash"},
	{"caroline", "carol", "carrie", "carole"},
	{"zachary", "zach", "zak"},
	{"nathan", "nat", "nate", "nathaniel"},
	{"mohammed", "muhammad", "mohammad", "mohamed", "muhammed", "mohamad", "mohd", "md"},
	{"yusuf", "yousef", "yusef", "joseph"},
	{"ibrahim", "ebrahim"},
	{"hussain", "hussein", "husain"},
	{"ahmed", "ahmad"},
	{"fatima", "fatimah"},
	{"aisha", "ayesha", "aysha"},
}

func init() {
	for _, g := range nicknameGroups {
		formal := g[0]
		for _, n := range g {
			if !contains(nicknames[n], formal) {
				nicknames[n] = append(nicknames[n], formal)
			}
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// sameFormalName reports whether normalised given names a and b are
// forms of one name: nickname and formal name, two nicknames of the same
// name, or two spellings in one group.
func sameFormalName(a, b string) bool {
	fa, fb := nicknames[a], nicknames[b]
	for _, x := range fa {
		if x == b || contains(fb, x) {
			return true
		}
	}
	for _, x := range fb {
		if x == a {
			return true
		}
	}
	return false
}
