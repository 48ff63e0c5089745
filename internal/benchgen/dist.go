package benchgen

import (
	"math"
	"math/rand/v2"
	"time"
)

// logNormal draws exp(N(ln median, sigma)).
func logNormal(r *rand.Rand, median, sigma float64) float64 {
	return median * math.Exp(sigma*r.NormFloat64())
}

// pareto draws from a Pareto distribution with scale xm and shape alpha.
func pareto(r *rand.Rand, xm, alpha float64) float64 {
	return xm / math.Pow(1-r.Float64(), 1/alpha)
}

// dur draws a log-normal duration clamped to [lo, hi].
func dur(r *rand.Rand, median time.Duration, sigma float64, lo, hi time.Duration) int64 {
	d := time.Duration(logNormal(r, float64(median), sigma))
	return int64(min(max(d, lo), hi))
}

// uniformDur draws a duration in [lo, hi).
func uniformDur(r *rand.Rand, lo, hi time.Duration) int64 {
	return int64(lo) + r.Int64N(int64(hi-lo))
}

// expDur draws an exponential duration with the given mean.
func expDur(r *rand.Rand, mean time.Duration) int64 {
	return int64(r.ExpFloat64() * float64(mean))
}

// chance reports whether an event of probability p happens.
func chance(r *rand.Rand, p float64) bool { return r.Float64() < p }

// arrivals yields n times spread uniformly over [0, span), in increasing
// order, one at a time: each is the minimum of the remaining uniform
// draws, so no list of n times is ever held.
type arrivals struct {
	r         *rand.Rand
	left      int
	last, end float64
}

func newArrivals(r *rand.Rand, n int, span time.Duration) *arrivals {
	return &arrivals{r: r, left: n, end: float64(span)}
}

// next returns the next arrival time, or false after n of them.
func (a *arrivals) next() (int64, bool) {
	if a.left <= 0 {
		return 0, false
	}
	// The minimum of k uniforms on [last, end) is last + (end-last)(1-U^(1/k)).
	u := a.r.Float64()
	a.last += (a.end - a.last) * (1 - math.Pow(u, 1/float64(a.left)))
	a.left--
	return int64(a.last), true
}
