// Package redact masks card numbers and US social security numbers in free text, so
// that reactor output can reach operators' logs without the values it must not carry.
package redact

// String returns s with card numbers (13 to 19 digits passing the Luhn check, written
// as one run or in groups joined by single spaces or dashes) masked to their last
// four digits, and SSN-shaped values (ddd-dd-dddd) masked entirely. Separators are
// kept, so "4111 1111 1111 1111" becomes "**** **** **** 1111".
func String(s string) string {
	var out []byte // allocated on the first mask
	for i := 0; i < len(s); {
		if !isDigit(s[i]) || (i > 0 && isDigit(s[i-1])) {
			i++
			continue
		}
		end := spanEnd(s, i)
		if masked, ok := maskSpan(s[i:end]); ok {
			if out == nil {
				out = []byte(s)
			}
			copy(out[i:end], masked)
		}
		i = end
	}
	if out == nil {
		return s
	}
	return string(out)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isSep(c byte) bool { return c == ' ' || c == '-' }

// spanEnd returns the end of the digit groups starting at i: digits, possibly joined
// by single separators between digits.
func spanEnd(s string, i int) int {
	for i < len(s) {
		switch {
		case isDigit(s[i]):
			i++
		case isSep(s[i]) && i+1 < len(s) && isDigit(s[i+1]):
			i++
		default:
			return i
		}
	}
	return i
}

// group is one run of digits inside a span.
type group struct{ start, end int }

// maskSpan masks the card numbers and SSNs in one span of digit groups. A card number
// is the longest sequence of whole consecutive groups with 13-19 digits that passes
// the Luhn check, so "card 4111 1111 1111 1111 exp 12 28" masks the card only; an SSN
// is three dash-joined groups of 3, 2 and 4 digits not chained to further dashes.
func maskSpan(span string) ([]byte, bool) {
	var groups []group
	for i := 0; i < len(span); {
		j := i
		for j < len(span) && isDigit(span[j]) {
			j++
		}
		groups = append(groups, group{i, j})
		i = j + 1 // skip the separator
	}
	out := []byte(span)
	used := make([]bool, len(groups))
	masked := false
	for i := 0; i < len(groups); {
		best, n := -1, 0
		for j := i; j < len(groups); j++ {
			n += groups[j].end - groups[j].start
			if n > 19 {
				break
			}
			if n >= 13 && luhn(span[groups[i].start:groups[j].end]) {
				best = j
			}
		}
		if best < 0 {
			i++
			continue
		}
		maskDigits(out[groups[i].start:groups[best].end], 4)
		for k := i; k <= best; k++ {
			used[k] = true
		}
		masked = true
		i = best + 1
	}
	// sepAfter is the separator after group k, or 0 after the last.
	sepAfter := func(k int) byte {
		if k < 0 || k+1 >= len(groups) {
			return 0
		}
		return span[groups[k].end]
	}
	size := func(k int) int { return groups[k].end - groups[k].start }
	for i := 0; i+2 < len(groups); i++ {
		if used[i] || used[i+1] || used[i+2] || size(i) != 3 || size(i+1) != 2 || size(i+2) != 4 ||
			sepAfter(i) != '-' || sepAfter(i+1) != '-' || sepAfter(i-1) == '-' || sepAfter(i+2) == '-' {
			continue
		}
		maskDigits(out[groups[i].start:groups[i+2].end], 0)
		used[i], used[i+1], used[i+2] = true, true, true
		masked = true
	}
	return out, masked
}

// maskDigits replaces every digit of b but the last keep with '*'.
func maskDigits(b []byte, keep int) {
	for k := len(b) - 1; k >= 0; k-- {
		if !isDigit(b[k]) {
			continue
		}
		if keep > 0 {
			keep--
			continue
		}
		b[k] = '*'
	}
}

// luhn checks the digits of s (separators skipped) against the Luhn checksum.
func luhn(s string) bool {
	sum, double := 0, false
	for k := len(s) - 1; k >= 0; k-- {
		if !isDigit(s[k]) {
			continue
		}
		d := int(s[k] - '0')
		if double {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}
