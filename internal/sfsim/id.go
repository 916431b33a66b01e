package sfsim

import (
	"fmt"
	"strings"
)

// Key prefixes of the objects the simulator models: the first three characters of every
// Salesforce Id name its object type.
const (
	prefixOrg                     = "00D"
	prefixUser                    = "005"
	prefixProfile                 = "00e"
	prefixUserRole                = "00E"
	prefixUserLicense             = "100"
	prefixUserLogin               = "060"
	prefixPermissionSet           = "0PS"
	prefixPermissionSetAssignment = "0Pa"
	prefixQueryLocator            = "01g"
	prefixBulkJob                 = "750"
)

// idPod is the two characters after the key prefix; real Ids carry the instance there.
const idPod = "Sm"

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// checksumAlphabet is the alphabet of the three-character suffix that turns a
// case-sensitive 15-character Id into a case-insensitive 18-character one.
const checksumAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"

// newID builds the 18-character Id of the n-th record with the given key prefix.
func newID(prefix string, n uint64) string {
	var seq [10]byte
	for i := len(seq) - 1; i >= 0; i-- {
		seq[i] = base62[n%62]
		n /= 62
	}
	return to18(prefix + idPod + string(seq[:]))
}

// to18 appends the checksum suffix to a 15-character Id: for each block of five
// characters, a five-bit number whose bit i is set when character i is an upper-case
// letter, mapped through checksumAlphabet.
func to18(id15 string) string {
	var suffix [3]byte
	for block := 0; block < 3; block++ {
		bits := 0
		for i := 0; i < 5; i++ {
			c := id15[block*5+i]
			if c >= 'A' && c <= 'Z' {
				bits |= 1 << i
			}
		}
		suffix[block] = checksumAlphabet[bits]
	}
	return id15 + string(suffix[:])
}

// normalizeID checks the shape of an Id given in a URL or a body and returns its
// 18-character form. A 15-character Id is case-sensitive; an 18-character one must
// carry the right checksum (compared case-insensitively, as Salesforce does).
func normalizeID(id string) (string, error) {
	if len(id) != 15 && len(id) != 18 {
		return "", fmt.Errorf("id %q is neither 15 nor 18 characters long", id)
	}
	for i := 0; i < len(id); i++ {
		if !strings.ContainsRune(base62, rune(id[i])) {
			return "", fmt.Errorf("id %q holds the character %q", id, id[i])
		}
	}
	full := to18(id[:15])
	if len(id) == 18 && !strings.EqualFold(full[15:], id[15:]) {
		return "", fmt.Errorf("id %q has a wrong checksum suffix", id)
	}
	return full, nil
}
