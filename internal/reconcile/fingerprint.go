package reconcile

import (
	"encoding/binary"
	"hash/maphash"
	"unicode"
	"unicode/utf8"

	"github.com/syncd-io/syncd/internal/mapping"
)

// This file lets a usual cycle find the few linked people whose user differs without
// reading every user's fields beside the person's.
//
// Why: a usual cycle compares a million linked people with their users and finds a
// percent of them changed. Comparing field by field reads each person's user where
// the org's order put it, which the export's order says nothing about: at a million
// users that is a dozen cache misses per person (the user, its fields, each value),
// and profiles of Calculate spent most of their time waiting on them.
//
// So each side is first summed up in its own order, a read that walks its memory from
// first to last, into one 64-bit hash per person and per user of the always-managed
// fields' values; decide then compares two hashes from arrays small enough for the
// cache, and diffs field by field only the people whose hashes differ. Every action
// still comes from that field-by-field diff, so a hash can never cause a write.
//
// The hash reads Email and Username case-folded, the way sameValue compares them
// (Salesforce keeps them without case, so the export's case and the org's often
// differ), and every other value as it is: values that differ only where sameValue
// forgives (surrounding spaces, an Id's 15 or 18 characters) hash apart, and that
// person is diffed field by field and gets no action, as before. Values that differ
// hash the same with a probability of 2^-64 per person; the seed is new for every
// Calculate, so such a collision would delay one user's update by one cycle.

// fingerprints are the hashes of one cycle's linked people and their users.
type fingerprints struct {
	// names are the always-managed fields every hash covers, in the order of the
	// people's Fields; folded says which are hashed case-folded.
	names  []string
	folded []bool
	// person and user hold the hash of each person and each user; personOK is false
	// for a person whose always-managed fields are not exactly names (they are
	// diffed field by field), userOK false for an inactive user (it needs an action
	// whatever its fields).
	person, user     []uint64
	personOK, userOK []bool
}

// fingerprintChunk is how many people or users one step of takeFingerprints hashes.
const fingerprintChunk = 16 << 10

// takeFingerprints hashes every person and every user on every core. The field list
// is the first person's: the people of one mapping share it, and any person with
// another list is diffed field by field.
func (c *calc) takeFingerprints() *fingerprints {
	in := c.in
	if len(in.Desired) == 0 {
		return nil
	}
	fp := &fingerprints{
		person: make([]uint64, len(in.Desired)), personOK: make([]bool, len(in.Desired)),
		user: make([]uint64, len(in.Existing)), userOK: make([]bool, len(in.Existing)),
	}
	for _, f := range in.Desired[0].Fields {
		if f.Mode == mapping.Always {
			fp.names = append(fp.names, f.Name)
			fp.folded = append(fp.folded, isFoldedField(f.Name))
		}
	}
	seed := maphash.MakeSeed()
	hashers := make([]fieldHasher, max(1, c.split.workers))
	for w := range hashers {
		hashers[w].seed = seed
	}
	peopleChunks := (len(in.Desired) + fingerprintChunk - 1) / fingerprintChunk
	userChunks := (len(in.Existing) + fingerprintChunk - 1) / fingerprintChunk
	parallel(peopleChunks+userChunks, c.split.workers, func(worker, k int) {
		h := &hashers[worker]
		if k < peopleChunks {
			for i := k * fingerprintChunk; i < min((k+1)*fingerprintChunk, len(in.Desired)); i++ {
				fp.person[i], fp.personOK[i] = h.person(fp, &in.Desired[i])
			}
			return
		}
		k -= peopleChunks
		for i := k * fingerprintChunk; i < min((k+1)*fingerprintChunk, len(in.Existing)); i++ {
			if e := &in.Existing[i]; e.IsActive {
				fp.user[i], fp.userOK[i] = h.user(fp, e), true
			}
		}
	})
	return fp
}

// unchanged reports whether person's linked, active user has the same always-managed
// values, by their hashes: decide leaves such a pair alone without reading the user.
func (fp *fingerprints) unchanged(person, user int32) bool {
	return fp != nil && fp.personOK[person] && fp.userOK[user] && fp.person[person] == fp.user[user]
}

// fieldHasher hashes the values of one person or user at a time; each worker has
// its own.
type fieldHasher struct {
	seed maphash.Seed
	// values holds the values of the person or user being hashed, each after its
	// length, case-folded where the field is.
	values []byte
	// layout is the field names of the last user hashed, and at where diff's walk
	// found each of fp.names among them (-1: not there). The users of one read share
	// their names (FieldPacker), so the next user most likely has the same, and then
	// its values are where the last user's were, found without comparing a name.
	layout *[]string
	at     []int
}

// person hashes d's always-managed values; ok is false when its always-managed fields
// are not exactly fp.names.
func (fh *fieldHasher) person(fp *fingerprints, d *mapping.Desired) (sum uint64, ok bool) {
	fh.values = fh.values[:0]
	k := 0
	for _, f := range d.Fields {
		if f.Mode != mapping.Always {
			continue
		}
		if k == len(fp.names) || f.Name != fp.names[k] {
			return 0, false
		}
		fh.add(fp.folded[k], f.Value)
		k++
	}
	return fh.sum(), k == len(fp.names)
}

// user hashes e's values of fp.names, found as diff finds them.
func (fh *fieldHasher) user(fp *fingerprints, e *Existing) uint64 {
	fh.locate(fp, e.Fields)
	fh.values = fh.values[:0]
	for k, at := range fh.at {
		var v string
		if at >= 0 {
			v = e.Fields.Value(at)
		}
		fh.add(fp.folded[k], v)
	}
	return fh.sum()
}

// locate sets fh.at for fields, unless they have the names of the last user's, in
// the same order: where diff's walk finds a name depends on nothing else.
func (fh *fieldHasher) locate(fp *fingerprints, fields UserFields) {
	if fh.at != nil && fields.names == fh.layout {
		return
	}
	fh.layout = fields.names
	fh.at = fh.at[:0]
	j := 0
	for _, name := range fp.names {
		fh.at = append(fh.at, fieldIndex(fields, &j, name))
	}
}

// add appends the next value, after its length (which keeps the values' boundaries:
// "ab","c" is not "a","bc"), case-folded when folded. The values are gathered and
// hashed in one call (sum) rather than a call per value: hashing a million people
// and users took 0.28-0.38 s that way and 0.24-0.25 s this way
// (BenchmarkPlanParts/hashes/1M, the two binaries alternating on idle cores).
func (fh *fieldHasher) add(folded bool, v string) {
	at := len(fh.values)
	fh.values = append(fh.values, 0, 0, 0, 0)
	if folded && !isFolded(v) {
		fh.values = appendFolded(fh.values, v)
	} else {
		fh.values = append(fh.values, v...)
	}
	binary.LittleEndian.PutUint32(fh.values[at:], uint32(len(fh.values)-at-4)) //nolint:gosec // a field value, far below 4 GiB
}

// sum returns the hash of the values added since the last person or user began.
func (fh *fieldHasher) sum() uint64 { return maphash.Bytes(fh.seed, fh.values) }

// isFolded reports whether v is its own case-folded form (appendFolded): ASCII without
// upper-case letters, as most addresses are. It looks at eight bytes at a time: a byte
// is above 0x7F when its top bit is set, and an ASCII byte is in 'A'..'Z' when adding
// 0x80-'A' sets its top bit and adding 0x80-'Z'-1 does not (no sum carries into the
// next byte, since every byte is below 0x80 by then).
func isFolded(v string) bool {
	const ones, high = 0x0101010101010101, 0x8080808080808080
	i := 0
	for ; i+8 <= len(v); i += 8 {
		x := uint64(v[i]) | uint64(v[i+1])<<8 | uint64(v[i+2])<<16 | uint64(v[i+3])<<24 |
			uint64(v[i+4])<<32 | uint64(v[i+5])<<40 | uint64(v[i+6])<<48 | uint64(v[i+7])<<56
		if x&high != 0 {
			return false
		}
		if atLeastA, aboveZ := x+(0x80-'A')*ones, x+(0x80-'Z'-1)*ones; (atLeastA&^aboveZ)&high != 0 {
			return false
		}
	}
	for ; i < len(v); i++ {
		if c := v[i]; c >= utf8.RuneSelf || ('A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}

// appendFolded appends v in a form two strings share exactly when
// strings.EqualFold says they are equal (untrimmed, like every value hashed): every rune replaced by the member of its
// case-folding orbit that stands for the orbit (orbitCanon). An invalid byte reads as
// U+FFFD, as EqualFold reads it. An ASCII byte's orbit stands as its lower case
// (the orbits of 'k' and 's' reach beyond ASCII, to the Kelvin sign and the long s,
// but their least member is still the ASCII capital), so ASCII, most of every address,
// is folded a byte at a time without looking the orbit up.
func appendFolded(dst []byte, v string) []byte {
	for i := 0; i < len(v); {
		if c := v[i]; c < utf8.RuneSelf {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			dst = append(dst, c)
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(v[i:])
		dst = utf8.AppendRune(dst, orbitCanon(r))
		i += size
	}
	return dst
}

// orbitCanon returns the member of r's case-folding orbit that stands for the orbit:
// the lower-case ASCII letter when the orbit has one (so that a folded address is the
// address as most people write it, and 'K', 'k' and the Kelvin sign agree), otherwise
// the smallest rune.
func orbitCanon(r rune) rune {
	least := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		least = min(least, f)
	}
	if least < utf8.RuneSelf {
		return unicode.ToLower(least)
	}
	return least
}
