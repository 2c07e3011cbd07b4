// Package mpi is the matching core of sharedcare's master patient index:
// it decides which source records (each organisation's Patient, with its
// own identifiers such as a hospital MRN) belong to one person, so the
// shared record shows one person once.
//
// It holds no database code. A Record is the part of a Patient that
// matching reads (FromPatient makes one from FHIR R4 JSON); an Index
// holds every record, prepared and filed under blocking keys, grouped
// into persons whose ids the caller (the store) chooses. A store rebuilds
// the Index at start with Load and RestoreMerge and keeps it in step with
// Add, Update, Remove, Link, Merge and Unmerge as it commits the same
// changes.
//
// # The matching model
//
// Records are compared field by field in the manner of Fellegi and
// Sunter (1969). Each field's comparison gives a Level (exact, a kind of
// partial agreement, disagree, or missing), and each (field, level) has
// two probabilities: m, that the level is seen when the two records are
// the same person, and u, that it is seen when they are two people. The
// level weighs log2(m/u) bits; the weights add up to the total weight W,
// the log2 likelihood ratio of "same person" to "two people" under the
// assumption that fields err independently. Missing weighs 0. With a
// prior odds π that two records are the same person (1e-6: one person
// in a population of a million), the match probability is
// 1/(1 + 1/(π·2^W)).
//
// The m and u values (Model.MU, DefaultModel) are set from what is known
// about NHS registration data and can be tuned (EstimateMU re-estimates
// them from unlabelled pairs by expectation maximisation):
//
//	field        level            m       u       weight
//	NHS number   exact            0.99    1e-6    +19.9
//	             disagree         0.002   1        -9.0
//	identifier   exact (same MRN) 0.98    1e-6    +19.9   (same system only)
//	             disagree         0.05    1        -4.3
//	family name  exact            0.88    0.002    +8.8   (u = the name's share of the index)
//	             part (Smith-Jones / Jones)  0.02  0.0005  +5.3
//	             alias (maiden)   0.02    0.002    +3.3
//	             swapped          0.005   1e-5     +9.0   (family and given crossed)
//	             close            0.05    0.01     +2.3   (Jaro–Winkler ≥ 0.88 or same NYSIIS)
//	             disagree         0.04    0.985    -4.6
//	given name   exact            0.85    0.005    +7.4   (u = the name's share of the index)
//	             nickname         0.04    0.002    +4.3   (Bob, Robert)
//	             middle as first  0.02    0.001    +4.3
//	             initial          0.9     0.07     +3.7
//	             close            0.05    0.01     +2.3
//	             disagree         0.04    0.98     -4.6
//	middle name  exact / initial / close / disagree      +5.1 / +3.7 / +3.3 / -2.3
//	birth date   exact            0.95    4e-5    +14.5   (about 25,000 distinct dates)
//	             year and month   0.95    0.001    +9.9   (one side known to the month)
//	             transposed       0.005   4e-5     +7.0   (day and month swapped)
//	             year only        0.95    0.012    +6.3
//	             one-digit typo   0.02    0.0016   +3.6
//	             disagree         0.005   0.998    -7.6
//	sex          exact / disagree 0.98/0.5, 0.02/0.5      +1.0 / -4.6
//	address      exact (postcode and first line)  0.7  4e-5  +14.1
//	             same postcode, other house       0.01 3e-5   +8.4
//	             same sector / district           +2.3 / 0
//	             disagree (moved)                 0.2  0.95   -2.2
//	phone        exact / disagree                         +12.6 / -1.3
//	email        exact / disagree                         +19.4 / -1.7
//	death date   exact / disagree                          +9.8 / -4.3
//
// m and u are conditional on the value being present on both sides at
// the precision compared (so an initial that agrees is evidence, +3.7,
// not a penalty for being short). An exact name's u is its frequency in
// the index (at least MinNameU, 1e-4), so Smith agrees for fewer bits
// than Staniforth. Address, phone and email are shared by everyone in a
// home, so together they add at most ContactCap (16) bits.
//
// # Decisions
//
// Decide turns a Score into AutoLink (W ≥ 32), Review (W ≥ 14) or
// NoLink, subject to rules that the independence assumption gets wrong:
//
//   - the same NHS number, verified against PDS on both sides, is a
//     link whatever else differs (PDS has matched both already);
//   - two different valid NHS numbers are never auto-linked; they are
//     reviewed only if the rest still passes the auto-link threshold
//     after the -9 penalty (one person can be issued two numbers), and
//     not linked at all if both are verified;
//   - names and a birth date alone never auto-link: an identifier or a
//     contact detail must agree exactly too;
//   - twins: the same (or nearly the same) birth date with the same
//     family name or home and a given name that is not the same name is
//     never auto-linked, and not linked at all when the given names
//     differ outright.
//
// Grade maps decisions to the FHIR match-grade codes for Patient $match:
// certain (AutoLink), probable and possible (the upper and lower halves
// of the review band), certainly-not. Every Score carries its field
// outcomes and the rule applied, and Score.Reasons renders them without
// personal data, so a decision can be stored and logged with its score
// and reasons.
//
// # Blocking
//
// Match scores only records that share a blocking key with the incoming
// one (blocking.go lists the keys and why): the NHS number, other
// identifiers, birth date, phonetic family name with birth year,
// phonetic family and given names, postcode with given initial, phone,
// email, plus the day/month-swapped date and swapped names at query
// time. docs/MPI.md has the measured precision, recall, speed and
// memory.
package mpi
