package tlskeys

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// SecretsTypeTLS is the pcapng Decryption Secrets Block type for a TLS key
// log ("TLSK", draft-ietf-opsawg-pcapng 4.7).
const SecretsTypeTLS = 0x544c534b

// AddPcapngSecrets adds the key log carried by a pcapng Decryption Secrets
// Block (block type 0x0000000A, draft-ietf-opsawg-pcapng 4.7). data is the
// block body: from Secrets Type to the end of the options, without the
// block type and the two block total lengths. Secrets Type and Secrets
// Length are read in the byte order in which Secrets Type matches
// SecretsTypeTLS, so the caller need not pass the section's byte order. A
// block of another secrets type, or whose length exceeds data, is reported
// as one warning with Line 0. The payload is key log text, read as
// ParseKeyLog does (trailing NUL padding is ignored); warnings number lines
// from the start of the payload.
func (k *KeyLog) AddPcapngSecrets(data []byte) []Warning {
	if len(data) < 8 {
		return []Warning{{Reason: fmt.Sprintf("decryption secrets block body is %d bytes, want at least 8", len(data))}}
	}
	var order binary.ByteOrder = binary.LittleEndian
	if binary.BigEndian.Uint32(data) == SecretsTypeTLS {
		order = binary.BigEndian
	}
	if typ := order.Uint32(data); typ != SecretsTypeTLS {
		return []Warning{{Reason: fmt.Sprintf("decryption secrets type 0x%08x is not a TLS key log", typ)}}
	}
	n := order.Uint32(data[4:])
	if uint64(n) > uint64(len(data)-8) {
		return []Warning{{Reason: fmt.Sprintf("decryption secrets length %d exceeds the %d bytes left in the block", n, len(data)-8)}}
	}
	payload := bytes.TrimRight(data[8:8+n], "\x00")
	return k.Add(bytes.NewReader(payload))
}
