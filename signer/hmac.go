package signer

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
)

// hmacBlock is the block size of SHA-1 and SHA-256.
const hmacBlock = 64

// hmacSHA256Reserved returns HMAC-SHA256(key, buf[hmacBlock:]). The first
// hmacBlock bytes of buf are scratch space the caller reserved so the
// message needs no copy; key must be at most hmacBlock bytes long.
func hmacSHA256Reserved(key []byte, buf []byte) [sha256.Size]byte {
	for i := range hmacBlock {
		var k byte
		if i < len(key) {
			k = key[i]
		}
		buf[i] = k ^ 0x36
	}
	inner := sha256.Sum256(buf)
	var outer [hmacBlock + sha256.Size]byte
	for i := range hmacBlock {
		var k byte
		if i < len(key) {
			k = key[i]
		}
		outer[i] = k ^ 0x5c
	}
	copy(outer[hmacBlock:], inner[:])
	return sha256.Sum256(outer[:])
}

// hmacSHA1Reserved returns HMAC-SHA1(secret, buf[hmacBlock:]), with the
// same reserved-prefix convention as hmacSHA256Reserved.
func hmacSHA1Reserved(secret string, buf []byte) [sha1.Size]byte {
	var kb [hmacBlock]byte
	if len(secret) > hmacBlock {
		s := sha1.Sum([]byte(secret))
		copy(kb[:], s[:])
	} else {
		copy(kb[:], secret)
	}
	for i := range hmacBlock {
		buf[i] = kb[i] ^ 0x36
	}
	inner := sha1.Sum(buf)
	var outer [hmacBlock + sha1.Size]byte
	for i := range hmacBlock {
		outer[i] = kb[i] ^ 0x5c
	}
	copy(outer[hmacBlock:], inner[:])
	return sha1.Sum(outer[:])
}

// deriveKeyV4 derives the V4 signing key:
// HMAC chain "aliyun_v4"+secret -> date -> region -> product -> "aliyun_v4_request".
func deriveKeyV4(secret, date, region, product string) [sha256.Size]byte {
	mac := func(key []byte, data string) []byte {
		h := hmac.New(sha256.New, key)
		h.Write([]byte(data))
		return h.Sum(nil)
	}
	k := mac([]byte("aliyun_v4"+secret), date)
	k = mac(k, region)
	k = mac(k, product)
	k = mac(k, v4Terminator)
	return [sha256.Size]byte(k)
}
