package report

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/qadiag/qadiag/analyze"
	"github.com/qadiag/qadiag/analyze/diagnose"
)

func TestZZScratch(t *testing.T) {
	files, _ := filepath.Glob("../testdata/pcaps/scenarios/*.pcap*")
	for _, p := range files {
		f, _ := os.Open(p)
		res, _ := analyze.Read(context.Background(), f, filepath.Base(p))
		f.Close()
		v := diagnose.Diagnose(res, nil)
		fmt.Printf("== %s %s qa=%d flows=%d\n", filepath.Base(p), v.Cause, len(v.QuickAssist), len(res.Flows))
		for _, q := range v.QuickAssist {
			fl := res.Flows[q.ID-1]
			fmt.Printf("  flow %d %s %s frames %d-%d dur %v syn %d synack %d rtt %v resets %d idle %+v maxidle %v@%d\n", fl.ID, q.Role, q.Host, fl.FirstFrame, fl.LastFrame, fl.Duration(), fl.SYNFrame, fl.SYNACKFrame, fl.RTT, len(fl.Resets), fl.Idle, fl.MaxIdle, fl.IdleAfterFrame)
			if fl.TLS != nil {
				fmt.Printf("    tls ch %d sh %d cert %d ad %v alerts %d\n", fl.TLS.ClientFrame, fl.TLS.ServerFrame, fl.TLS.CertFrame, fl.TLS.AppDataFrame, len(fl.TLS.Alerts))
			}
		}
		for _, fd := range v.Findings {
			for _, e := range fd.Evidence {
				fmt.Printf("  ev %s flows %v frames %v\n", fd.Cause, fd.Flows, e.Frames)
			}
		}
	}
}
