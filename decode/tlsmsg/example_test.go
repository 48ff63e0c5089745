package tlsmsg_test

import (
	"fmt"

	"github.com/qadiag/qadiag/decode/tlsmsg"
)

// A ClientHello arriving in two TCP segments (frames 4 and 5), as the
// reassembler hands them over.
func ExampleStream() {
	segments := [][]byte{
		{
			0x16, 0x03, 0x01, 0x00, 0x44, // record: handshake, 68 bytes
			0x01, 0x00, 0x00, 0x40, // ClientHello, 64 bytes
			0x03, 0x03, // legacy_version TLS 1.2
			0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // random
		},
		{
			0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
			0x00,                   // legacy_session_id
			0x00, 0x02, 0x13, 0x01, // cipher_suites: TLS_AES_128_GCM_SHA256
			0x01, 0x00, // compression: null
			0x00, 0x15, // extensions
			0x00, 0x00, 0x00, 0x11, 0x00, 0x0f, 0x00, 0x00, 0x0c, // server_name
			'e', 'x', 'a', 'm', 'p', 'l', 'e', '.', 't', 'e', 's', 't',
		},
	}
	var s tlsmsg.Stream
	s.Feed(segments[0], 4)
	s.Feed(segments[1], 5)
	sum := s.Summary()
	fmt.Println(sum.ClientHelloFrame, sum.ClientHello.SNI, tlsmsg.VersionName(sum.ClientHello.MaxVersion()))
	fmt.Println(tlsmsg.CipherSuiteName(sum.ClientHello.CipherSuites[0]))
	fmt.Println(sum.ClientHello.JA4())
	// Output:
	// 5 example.test TLS 1.2
	// TLS_AES_128_GCM_SHA256
	// t12d010100_0f2cb44170f4_000000000000
}
