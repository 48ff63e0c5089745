package grow

import "testing"

// TestAppendDoubles checks the values and that each new array is at least
// twice the last, so that all the arrays left behind add up to less than
// the final one.
func TestAppendDoubles(t *testing.T) {
	var s []int
	prevCap, left := 0, 0
	for i := range 100000 {
		s = Append(s, i)
		if cap(s) != prevCap {
			if prevCap > 0 && cap(s) < 2*prevCap {
				t.Fatalf("capacity %d after %d", cap(s), prevCap)
			}
			left += prevCap
			prevCap = cap(s)
		}
	}
	for i, v := range s {
		if v != i {
			t.Fatalf("s[%d] = %d", i, v)
		}
	}
	if left > cap(s) {
		t.Errorf("arrays left behind hold %d entries, the final one %d", left, cap(s))
	}
}
