package benchgen

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// File is a generated capture on disk.
type File struct {
	Path    string
	Size    int64
	Packets int64
}

// Cached returns the capture for cfg in dir, generating it when it is not
// there yet. The packet count of a reused file comes from a stats file next
// to it. Benchmarks use it so that the 1.7 GB capture is written once; a
// new file is settled into the page cache (Settle) before it is used.
func Cached(dir string, cfg Config) (File, error) {
	path := filepath.Join(dir, fmt.Sprintf("bench-seed%d-flows%d.%s", cfg.Seed, cfg.Flows, cfg.Format))
	statsPath := path + ".packets"
	if fi, err := os.Stat(path); err == nil {
		if s, err := os.ReadFile(statsPath); err == nil {
			if n, err := strconv.ParseInt(string(s), 10, 64); err == nil {
				return File{Path: path, Size: fi.Size(), Packets: n}, nil
			}
		}
	}
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return File{}, err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	st, err := Generate(w, cfg)
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.WriteFile(statsPath, []byte(strconv.FormatInt(st.Packets, 10)), 0o644)
	}
	if err == nil {
		err = Settle(tmp)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return File{}, fmt.Errorf("generating %s: %w", path, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return File{}, err
	}
	return File{Path: path, Size: fi.Size(), Packets: st.Packets}, nil
}
