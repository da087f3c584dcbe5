package osstest

import (
	"encoding/base64"
	"encoding/xml"
	"net/http"
	"strconv"
)

// ossError is an OSS service error as the wire shows it (PROTOCOL.md §7).
// Its fields never hold secrets: no signatures, secrets or security tokens.
type ossError struct {
	Status  int
	Code    string
	Message string
	EC      string
	// Optional detail elements.
	Key            string
	BucketName     string
	UploadID       string
	AccessKeyID    string
	StringToSign   string
	HeaderName     string
	ArgumentName   string
	ArgumentValue  string
	ExpiresTime    string
	ServerTime     string
	RequestTime    string
	MaxAllowedSkew string
}

func (e *ossError) Error() string { return e.Code + ": " + e.Message }

func errf(status int, code, msg string) *ossError {
	return &ossError{Status: status, Code: code, Message: msg}
}

// Errors the handlers return. Each call returns a fresh value so details
// can be attached.
func errNoSuchBucket(b string) *ossError {
	return &ossError{Status: 404, Code: "NoSuchBucket", Message: "The specified bucket does not exist.", EC: "0015-00000101", BucketName: b}
}

func errNoSuchKey(k string) *ossError {
	return &ossError{Status: 404, Code: "NoSuchKey", Message: "The specified key does not exist.", EC: "0026-00000001", Key: k}
}

func errNoSuchUpload(id string) *ossError {
	return &ossError{Status: 404, Code: "NoSuchUpload", Message: "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.", UploadID: id}
}

func errAccessDenied(msg string) *ossError {
	return &ossError{Status: 403, Code: "AccessDenied", Message: msg}
}

func errInvalidArgument(msg, name, value string) *ossError {
	return &ossError{Status: 400, Code: "InvalidArgument", Message: msg, ArgumentName: name, ArgumentValue: value}
}

func errMalformedXML() *ossError {
	return errf(400, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema.")
}

type errorXML struct {
	XMLName        xml.Name `xml:"Error"`
	Code           string   `xml:"Code"`
	Message        string   `xml:"Message"`
	RequestID      string   `xml:"RequestId"`
	HostID         string   `xml:"HostId"`
	Key            string   `xml:"Key,omitempty"`
	BucketName     string   `xml:"BucketName,omitempty"`
	UploadID       string   `xml:"UploadId,omitempty"`
	AccessKeyID    string   `xml:"OSSAccessKeyId,omitempty"`
	StringToSign   string   `xml:"StringToSign,omitempty"`
	HeaderName     string   `xml:"HeaderName,omitempty"`
	ArgumentName   string   `xml:"ArgumentName,omitempty"`
	ArgumentValue  string   `xml:"ArgumentValue,omitempty"`
	ExpiresTime    string   `xml:"ExpiresTime,omitempty"`
	ServerTime     string   `xml:"ServerTime,omitempty"`
	RequestTime    string   `xml:"RequestTime,omitempty"`
	MaxAllowedSkew string   `xml:"MaxAllowedSkewMilliseconds,omitempty"`
	EC             string   `xml:"EC,omitempty"`
}

// writeError writes e as OSS does: an XML body (or, for HEAD, the same XML
// base64-encoded in x-oss-err), x-oss-ec and the status.
func writeError(w http.ResponseWriter, r *http.Request, reqID string, e *ossError) {
	body := errorXML{
		Code: e.Code, Message: e.Message, RequestID: reqID, HostID: r.Host,
		Key: e.Key, BucketName: e.BucketName, UploadID: e.UploadID, AccessKeyID: e.AccessKeyID,
		StringToSign: e.StringToSign, HeaderName: e.HeaderName, ArgumentName: e.ArgumentName,
		ArgumentValue: e.ArgumentValue, ExpiresTime: e.ExpiresTime, ServerTime: e.ServerTime,
		RequestTime: e.RequestTime, MaxAllowedSkew: e.MaxAllowedSkew, EC: e.EC,
	}
	out, err := xml.MarshalIndent(body, "", "  ")
	if err != nil { // only strings: cannot fail
		out = []byte("<Error><Code>InternalError</Code></Error>")
	}
	out = append([]byte(xml.Header), out...)
	h := w.Header()
	for _, k := range []string{"ETag", "Last-Modified", "Content-Range", "Accept-Ranges", "X-Oss-Hash-Crc64ecma", "Content-Md5"} {
		h.Del(k)
	}
	h.Set("Content-Type", "application/xml")
	if e.EC != "" {
		h.Set("X-Oss-Ec", e.EC)
	}
	if r.Method == http.MethodHead {
		h.Set("X-Oss-Err", base64.StdEncoding.EncodeToString(out))
		h.Set("Content-Length", "0")
		w.WriteHeader(e.Status)
		return
	}
	h.Set("Content-Length", strconv.Itoa(len(out)))
	w.WriteHeader(e.Status)
	_, _ = w.Write(out)
}
