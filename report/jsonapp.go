package report

import (
	"github.com/qadiag/qadiag/analyze"
	"github.com/qadiag/qadiag/decode/dnsmsg"
	"github.com/qadiag/qadiag/decode/tlsmsg"
)

// The application-layer summaries of a flow, documented in
// docs/json-schema.md (flows[].tls, http, stun, dns, names).

type jsonName struct {
	Name  string `json:"name"`
	Frame uint64 `json:"frame"`
}

type jsonTLS struct {
	SNI             string      `json:"sni"`
	ALPN            []string    `json:"alpn,omitempty"`
	OfferedVersions []string    `json:"offered_versions,omitempty"`
	Version         string      `json:"version,omitempty"`
	Cipher          string      `json:"cipher,omitempty"`
	ServerALPN      string      `json:"server_alpn,omitempty"`
	JA4             string      `json:"ja4,omitempty"`
	ECH             bool        `json:"ech,omitempty"`
	HelloRetry      bool        `json:"hello_retry,omitempty"`
	Downgrade       bool        `json:"downgrade_sentinel,omitempty"`
	InTunnel        bool        `json:"in_tunnel,omitempty"`
	Resumed         bool        `json:"resumed,omitempty"`
	Established     bool        `json:"established"`
	Frames          jsonFrames  `json:"frames"`
	Certificates    []jsonCert  `json:"certificates,omitempty"`
	Alerts          []jsonAlert `json:"alerts,omitempty"`
	AppData         jsonPair    `json:"app_data_records"`
	FirstAppData    *jsonRecs   `json:"first_app_data,omitempty"`
	Malformed       string      `json:"malformed,omitempty"`
	Truncated       bool        `json:"truncated,omitempty"`
	// Decryption with a key log: records opened, whether the certificates
	// came from it, records the keys did not open.
	DecryptedRecords      int  `json:"decrypted_records,omitempty"`
	CertificatesDecrypted bool `json:"certificates_decrypted,omitempty"`
	DecryptErrors         int  `json:"decrypt_errors,omitempty"`
}

type jsonFrames struct {
	ClientHello       uint64 `json:"client_hello,omitempty"`
	HelloRetryRequest uint64 `json:"hello_retry_request,omitempty"`
	ServerHello       uint64 `json:"server_hello,omitempty"`
	Certificate       uint64 `json:"certificate,omitempty"`
	ServerHelloDone   uint64 `json:"server_hello_done,omitempty"`
	ClientCCS         uint64 `json:"client_change_cipher_spec,omitempty"`
	ServerCCS         uint64 `json:"server_change_cipher_spec,omitempty"`
	ClientAppData     uint64 `json:"client_app_data,omitempty"`
	ServerAppData     uint64 `json:"server_app_data,omitempty"`
}

type jsonRecs struct {
	Client []jsonRec `json:"client"`
	Server []jsonRec `json:"server"`
}

type jsonRec struct {
	Frame uint64 `json:"frame"`
	Len   uint16 `json:"len"`
}

type jsonPair struct {
	Client int `json:"client"`
	Server int `json:"server"`
}

type jsonCert struct {
	Subject    string   `json:"subject"`
	Issuer     string   `json:"issuer"`
	IssuerCN   string   `json:"issuer_cn,omitempty"`
	IssuerOrg  string   `json:"issuer_org,omitempty"`
	SANs       []string `json:"sans,omitempty"`
	NotBefore  string   `json:"not_before"`
	NotAfter   string   `json:"not_after"`
	SelfSigned bool     `json:"self_signed,omitempty"`
}

type jsonAlert struct {
	Frame       uint64 `json:"frame"`
	From        string `json:"from"`
	Level       string `json:"level,omitempty"`
	Description string `json:"description,omitempty"`
	Encrypted   bool   `json:"encrypted,omitempty"`
	Decrypted   bool   `json:"decrypted,omitempty"`
}

type jsonHTTP struct {
	Exchanges []jsonExchange `json:"exchanges"`
	Requests  int            `json:"requests"`
	Tunnel    bool           `json:"tunnel"`
	Malformed string         `json:"malformed,omitempty"`
}

type jsonExchange struct {
	Frame              uint64   `json:"frame,omitempty"`
	Method             string   `json:"method,omitempty"`
	Target             string   `json:"target,omitempty"`
	Host               string   `json:"host,omitempty"`
	ProxyAuthorization bool     `json:"proxy_authorization,omitempty"`
	ResponseFrame      uint64   `json:"response_frame,omitempty"`
	Status             int      `json:"status,omitempty"`
	Reason             string   `json:"reason,omitempty"`
	ProxyAuthenticate  []string `json:"proxy_authenticate,omitempty"`
	WWWAuthenticate    []string `json:"www_authenticate,omitempty"`
	Via                string   `json:"via,omitempty"`
	Server             string   `json:"server,omitempty"`
	ProxyAgent         string   `json:"proxy_agent,omitempty"`
	Location           string   `json:"location,omitempty"`
}

type jsonSTUN struct {
	Messages         int               `json:"messages"`
	Classic          int               `json:"classic,omitempty"`
	Malformed        int               `json:"malformed,omitempty"`
	Indications      int               `json:"indications,omitempty"`
	TransactionCount int               `json:"transaction_count"`
	Unanswered       int               `json:"unanswered"`
	Retransmissions  int               `json:"retransmissions"`
	Transactions     []jsonTransaction `json:"transactions"`
	ChannelData      int               `json:"channel_data,omitempty"`
	Channels         []jsonChannel     `json:"channels,omitempty"`
	MappedAddresses  []string          `json:"mapped_addresses,omitempty"`
	RelayedAddresses []string          `json:"relayed_addresses,omitempty"`
	ErrorCodes       []int             `json:"error_codes,omitempty"`
	Software         string            `json:"software,omitempty"`
	Realm            string            `json:"realm,omitempty"`
	MSTURN           bool              `json:"ms_turn,omitempty"`
}

type jsonTransaction struct {
	ID            string   `json:"id"`
	Method        string   `json:"method"`
	Requests      int      `json:"requests"`
	RequestFrames []uint64 `json:"request_frames"`
	ResponseFrame uint64   `json:"response_frame,omitempty"`
	Class         string   `json:"class,omitempty"`
	ErrorCode     int      `json:"error_code,omitempty"`
	RTTMs         float64  `json:"rtt_ms,omitempty"`
	Lifetime      uint32   `json:"lifetime,omitempty"`
	Mapped        string   `json:"mapped,omitempty"`
	Relayed       string   `json:"relayed,omitempty"`
}

type jsonChannel struct {
	Number  uint16   `json:"number"`
	Packets jsonPair `json:"packets"`
	Bytes   jsonPair `json:"bytes"`
}

type jsonDNS struct {
	Queries    []jsonQuery `json:"queries"`
	QueryCount int         `json:"query_count"`
	Unanswered int         `json:"unanswered"`
	Malformed  int         `json:"malformed,omitempty"`
}

type jsonQuery struct {
	ID            uint16       `json:"id"`
	Name          string       `json:"name"`
	Type          string       `json:"type"`
	Frame         uint64       `json:"frame,omitempty"`
	Count         int          `json:"count"`
	Frames        []uint64     `json:"frames,omitempty"`
	ResponseFrame uint64       `json:"response_frame,omitempty"`
	Rcode         string       `json:"rcode,omitempty"`
	RTTMs         float64      `json:"rtt_ms,omitempty"`
	Answers       []jsonAnswer `json:"answers,omitempty"`
}

type jsonAnswer struct {
	Name   string `json:"name"`
	Type   string `json:"type"`
	TTL    uint32 `json:"ttl"`
	Addr   string `json:"addr,omitempty"`
	Target string `json:"target,omitempty"`
}

func dirName(d analyze.Direction) string {
	if d == analyze.FromClient {
		return "client"
	}
	return "server"
}

// jsonScratch is storage reused from one flow to the next by writeDoc: a
// capture's JSON built a TLS summary and its lists anew for each of a
// hundred thousand flows. Every list it fills is omitempty, so one left
// empty here is written as it would be when nil.
type jsonScratch struct {
	names    []jsonName
	tls      jsonTLS
	recs     jsonRecs
	versions []string
	certs    []jsonCert
	alerts   []jsonAlert
}

func appJSON(j *jsonFlow, f *analyze.Flow, s *jsonScratch) {
	j.App = f.App()
	var names []jsonName
	if s != nil {
		names = s.names[:0]
	}
	for _, n := range f.Names() {
		names = append(names, jsonName{Name: n.Name, Frame: n.Frame})
	}
	if len(names) > 0 {
		j.Names = names
		if s != nil {
			s.names = names
		}
	}
	if t := f.TLS; t != nil {
		j.TLS = tlsJSON(t, s)
	}
	if h := f.HTTP; h != nil {
		jh := &jsonHTTP{Requests: h.Requests, Tunnel: h.Tunnel >= 0 && h.Tunnel < len(h.Exchanges) && h.Exchanges[h.Tunnel].Status/100 == 2,
			Malformed: h.Malformed, Exchanges: []jsonExchange{}}
		for _, e := range h.Exchanges {
			jh.Exchanges = append(jh.Exchanges, jsonExchange{Frame: e.Frame, Method: e.Method, Target: e.Target, Host: e.Host,
				ProxyAuthorization: e.ProxyAuthorization, ResponseFrame: e.ResponseFrame, Status: e.Status, Reason: e.Reason,
				ProxyAuthenticate: e.ProxyAuthenticate, WWWAuthenticate: e.WWWAuthenticate, Via: e.Via, Server: e.Server,
				ProxyAgent: e.ProxyAgent, Location: e.Location})
		}
		j.HTTP = jh
	}
	if s := f.STUN; s != nil {
		js := &jsonSTUN{Messages: s.Messages, Classic: s.Classic, Malformed: s.Malformed, Indications: s.Indications,
			TransactionCount: s.TransactionCount, Unanswered: s.Unanswered, Retransmissions: s.Retransmissions,
			Transactions: []jsonTransaction{}, ChannelData: s.ChannelData, ErrorCodes: s.ErrorCodes,
			Software: s.Software, Realm: s.Realm, MSTURN: s.MSTURN}
		for _, tx := range s.Transactions {
			jt := jsonTransaction{ID: tx.ID, Method: tx.Method, Requests: tx.Requests, RequestFrames: tx.RequestFrames,
				ResponseFrame: tx.ResponseFrame, Class: tx.Class, ErrorCode: tx.ErrorCode, Lifetime: tx.Lifetime}
			if tx.ResponseFrame != 0 {
				jt.RTTMs = millis(tx.RTT)
			}
			if tx.Mapped.IsValid() {
				jt.Mapped = tx.Mapped.String()
			}
			if tx.Relayed.IsValid() {
				jt.Relayed = tx.Relayed.String()
			}
			js.Transactions = append(js.Transactions, jt)
		}
		for _, c := range s.Channels {
			js.Channels = append(js.Channels, jsonChannel{Number: c.Number, Packets: jsonPair{c.Packets[0], c.Packets[1]},
				Bytes: jsonPair{c.Bytes[0], c.Bytes[1]}})
		}
		for _, a := range s.MappedAddresses {
			js.MappedAddresses = append(js.MappedAddresses, a.String())
		}
		for _, a := range s.RelayedAddresses {
			js.RelayedAddresses = append(js.RelayedAddresses, a.String())
		}
		j.STUN = js
	}
	if d := f.DNS; d != nil {
		jd := &jsonDNS{QueryCount: d.QueryCount, Unanswered: d.Unanswered, Malformed: d.Malformed, Queries: []jsonQuery{}}
		for _, q := range d.Queries {
			jq := jsonQuery{ID: q.ID, Name: q.Name, Type: dnsmsg.TypeName(q.Type), Frame: q.Frame, Count: q.Count,
				ResponseFrame: q.ResponseFrame}
			if len(q.Frames) > 1 {
				jq.Frames = q.Frames
			}
			if q.Answered() {
				jq.Rcode = dnsmsg.RcodeName(q.Rcode)
				if q.Frame != 0 {
					jq.RTTMs = millis(q.RTT)
				}
			}
			for _, a := range q.Answers {
				ja := jsonAnswer{Name: a.Name, Type: dnsmsg.TypeName(a.Type), TTL: a.TTL, Target: a.Target}
				if a.Addr.IsValid() {
					ja.Addr = a.Addr.String()
				}
				jq.Answers = append(jq.Answers, ja)
			}
			jd.Queries = append(jd.Queries, jq)
		}
		j.DNS = jd
	}
}

func tlsJSON(t *analyze.TLSInfo, s *jsonScratch) *jsonTLS {
	j := new(jsonTLS)
	var recs [2][]jsonRec
	var versions []string
	var certs []jsonCert
	var alerts []jsonAlert
	if s != nil {
		j = &s.tls
		recs = [2][]jsonRec{s.recs.Client[:0], s.recs.Server[:0]}
		versions, certs, alerts = s.versions[:0], s.certs[:0], s.alerts[:0]
	}
	o, d := t.Offered(), t.Details()
	*j = jsonTLS{SNI: t.SNI, ALPN: o.ALPN, ServerALPN: d.ServerALPN, JA4: o.JA4, ECH: o.ECH, HelloRetry: t.HelloRetry,
		Downgrade: t.Downgrade, InTunnel: t.InTunnel, Resumed: t.Resumed, Established: t.Established(),
		Frames: jsonFrames{ClientHello: t.ClientFrame, HelloRetryRequest: d.HRRFrame, ServerHello: t.ServerFrame,
			Certificate: t.CertFrame, ServerHelloDone: d.DoneFrame, ClientCCS: t.CCSFrame[0], ServerCCS: t.CCSFrame[1],
			ClientAppData: t.AppDataFrame[0], ServerAppData: t.AppDataFrame[1]},
		AppData: jsonPair{int(t.AppData[0]), int(t.AppData[1])}, Malformed: d.Malformed, Truncated: t.Truncated,
		DecryptedRecords: int(d.Decrypted), CertificatesDecrypted: t.CertsDecrypted, DecryptErrors: int(d.DecryptErrors)}
	for d := range analyze.Direction(2) {
		if recs[d] == nil {
			recs[d] = []jsonRec{} // written as [] when the other side has some
		}
		for _, r := range t.FirstAppData(d) {
			if r.Frame != 0 {
				recs[d] = append(recs[d], jsonRec{Frame: r.Frame, Len: r.Len})
			}
		}
	}
	if len(recs[0])+len(recs[1]) > 0 {
		if s != nil {
			s.recs = jsonRecs{Client: recs[0], Server: recs[1]}
			j.FirstAppData = &s.recs
		} else {
			j.FirstAppData = &jsonRecs{Client: recs[0], Server: recs[1]}
		}
	}
	for _, v := range o.OfferedVersions {
		versions = append(versions, tlsmsg.VersionName(v))
	}
	if t.Version != 0 {
		j.Version = tlsmsg.VersionName(t.Version)
	}
	if t.ServerFrame != 0 {
		j.Cipher = tlsmsg.CipherSuiteName(t.Cipher)
	}
	for _, c := range d.Certificates {
		certs = append(certs, jsonCert{Subject: c.Subject, Issuer: c.Issuer, IssuerCN: c.IssuerCN,
			IssuerOrg: c.IssuerOrg, SANs: c.SANs, NotBefore: timestamp(c.NotBefore), NotAfter: timestamp(c.NotAfter),
			SelfSigned: c.SelfSigned})
	}
	for _, a := range d.Alerts {
		ja := jsonAlert{Frame: a.Frame, From: dirName(a.From), Encrypted: a.Encrypted, Decrypted: a.Decrypted}
		if !a.Encrypted {
			ja.Level, ja.Description = tlsmsg.AlertLevelName(a.Level), tlsmsg.AlertDescriptionName(a.Description)
		}
		alerts = append(alerts, ja)
	}
	if len(versions) > 0 {
		j.OfferedVersions = versions
	}
	if len(certs) > 0 {
		j.Certificates = certs
	}
	if len(alerts) > 0 {
		j.Alerts = alerts
	}
	if s != nil {
		s.versions, s.certs, s.alerts = versions, certs, alerts
	}
	return j
}
