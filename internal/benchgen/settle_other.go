//go:build !linux

package benchgen

import "os"

// dropCache does nothing where there is no posix_fadvise to call.
func dropCache(*os.File) {}
