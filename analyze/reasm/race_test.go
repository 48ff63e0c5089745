//go:build race

package reasm

const raceEnabled = true
