//go:build !(linux || darwin || freebsd)

package decode

import "os"

func mapFile(*os.File) (*mapped, bool) { return nil, false }
