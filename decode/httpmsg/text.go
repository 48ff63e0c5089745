package httpmsg

import "bytes"

// trimCR removes one trailing CR, left when a line is cut at LF.
func trimCR(line []byte) []byte {
	return bytes.TrimSuffix(line, []byte("\r"))
}

// keep returns v, cut to maxValueLen bytes, as a string.
func keep(v []byte) string {
	return string(clip(v))
}

// clip cuts v to maxValueLen bytes, for kept strings and error messages.
func clip(v []byte) []byte {
	if len(v) > maxValueLen {
		return v[:maxValueLen]
	}
	return v
}

// combine appends a further field line's value to s with ", " (RFC 9110
// 5.3), within maxValueLen bytes.
func combine(s string, v []byte) string {
	if s == "" {
		return keep(v)
	}
	if len(s) >= maxValueLen {
		return s
	}
	out := append(append([]byte(s), ", "...), v...)
	return keep(out)
}

// isToken reports whether b is a non-empty token (RFC 9110 5.6.2).
func isToken(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c >= 0x80 || !tchar[c] {
			return false
		}
	}
	return true
}

// tchar marks the token characters of RFC 9110 5.6.2: ALPHA, DIGIT and
// "!#$%&'*+-.^_`|~".
var tchar = func() (t [128]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()

// isTarget reports whether b can be a request-target (RFC 9112 3.2): not
// empty, and free of white space and control characters.
func isTarget(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c <= ' ' || c == 0x7f {
			return false
		}
	}
	return true
}

// isVersion reports whether b is HTTP-version: "HTTP/" DIGIT "." DIGIT
// (RFC 9112 2.3).
func isVersion(b []byte) bool {
	return len(b) == 8 && string(b[:5]) == "HTTP/" &&
		'0' <= b[5] && b[5] <= '9' && b[6] == '.' && '0' <= b[7] && b[7] <= '9'
}
