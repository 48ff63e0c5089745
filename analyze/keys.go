package analyze

import (
	"github.com/qadiag/qadiag/decode/tlskeys"
	"github.com/qadiag/qadiag/decode/tlsmsg"
)

// keyLogKeys gives the TLS streams of a connection the record openers its
// key log holds, matched by the ClientHello's random (tlsmsg.Keys).
type keyLogKeys struct {
	kl *tlskeys.KeyLog
}

func (k keyLogKeys) Openers(ch *tlsmsg.ClientHello, sh *tlsmsg.ServerHello) (client, server tlsmsg.RecordOpener, ok bool) {
	sec, found := k.kl.Lookup(ch.Random)
	if !found {
		return nil, nil, false
	}
	suite := sh.CipherSuite
	if sh.SelectedVersion == versionTLS13 {
		// Handshake keys until the Finished, then the first application
		// keys (RFC 8446 7.1).
		c := stagedOpener{hs: open13(suite, sec.ClientHandshake), app: open13(suite, sec.ClientTraffic0)}
		s := stagedOpener{hs: open13(suite, sec.ServerHandshake), app: open13(suite, sec.ServerTraffic0)}
		if c.hs == nil && s.hs == nil {
			return nil, nil, false
		}
		return &c, &s, true
	}
	if len(sec.MasterSecret) == 0 {
		return nil, nil, false
	}
	c, errC := tlskeys.NewTLS12(suite, sec.MasterSecret, ch.Random, sh.Random, false)
	s, errS := tlskeys.NewTLS12(suite, sec.MasterSecret, ch.Random, sh.Random, true)
	if errC != nil || errS != nil {
		return nil, nil, false
	}
	return c, s, true
}

func open13(suite uint16, secret []byte) *tlskeys.Decrypter {
	if len(secret) == 0 {
		return nil
	}
	d, err := tlskeys.NewTLS13(suite, secret)
	if err != nil {
		return nil
	}
	return d
}

// stagedOpener opens records with the handshake keys, and from the first
// record they do not open on, with the application keys. A failed attempt
// uses up no sequence number (tlskeys), so trying the next key is safe.
type stagedOpener struct {
	hs, app *tlskeys.Decrypter
	onApp   bool
}

func (o *stagedOpener) Open(hdr [5]byte, ct []byte) ([]byte, uint8, error) {
	if !o.onApp && o.hs != nil {
		pt, typ, err := o.hs.Open(hdr, ct)
		if err == nil || o.app == nil {
			return pt, typ, err
		}
		if pt, typ, err2 := o.app.Open(hdr, ct); err2 == nil {
			o.onApp = true
			return pt, typ, nil
		}
		return nil, 0, err
	}
	if o.app == nil {
		return nil, 0, tlskeys.ErrAuth
	}
	return o.app.Open(hdr, ct)
}
