//! Which addresses the server may fetch a link's preview from: the public internet
//! only. Every address a link leads to (its IP literal, each address its host resolves
//! to, each redirect's) is checked here before anything is sent to it; an address is
//! refused when it is loopback, private, link-local (cloud metadata at 169.254.169.254
//! too), carrier-grade NAT, shared or reserved, multicast, documentation, or an IPv6
//! form that carries or reaches an IPv4 address (mapped, compatible, NAT64, 6to4,
//! Teredo).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Why `ip` is not on the public internet (`None`: it is).
pub fn not_public(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => not_public_v4(v4),
        IpAddr::V6(v6) => not_public_v6(v6),
    }
}

fn not_public_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    Some(match (a, b, c) {
        (0, ..) => "this network (0.0.0.0/8)",
        (10, ..) | (172, 16..=31, _) | (192, 168, _) => "a private address",
        (100, 64..=127, _) => "carrier-grade NAT (100.64.0.0/10)",
        (127, ..) => "loopback",
        (169, 254, _) => "link-local (cloud metadata lives here)",
        (192, 0, 0) => "IETF protocol assignments (192.0.0.0/24)",
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => "documentation",
        (192, 88, 99) => "6to4 relay anycast",
        (198, 18..=19, _) => "benchmarking (198.18.0.0/15)",
        (224..=239, ..) => "multicast",
        (240..=255, ..) => "reserved or broadcast",
        _ => return None,
    })
}

fn not_public_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let s = ip.segments();
    if ip.is_unspecified() {
        return Some("unspecified (::)");
    }
    if ip.is_loopback() {
        return Some("loopback");
    }
    // An IPv4 address inside: judged as that address would be, and never fetched through.
    if let Some(v4) = ip.to_ipv4_mapped() {
        return Some(not_public_v4(v4).unwrap_or("an IPv4-mapped address"));
    }
    if s[..6] == [0; 6] {
        return Some("an IPv4-compatible address");
    }
    Some(match s {
        [0x64, 0xff9b, ..] => "NAT64 (64:ff9b::/96, 64:ff9b:1::/48)",
        [0x100, 0, 0, 0, ..] => "discard-only (100::/64)",
        [0x2001, 0..=0x1ff, ..] => "IETF protocol assignments and Teredo (2001::/23)",
        [0x2001, 0xdb8, ..] => "documentation (2001:db8::/32)",
        [0x2002, ..] => "6to4 (2002::/16)",
        [0xfc00..=0xfdff, ..] => "unique local (fc00::/7)",
        [0xfe80..=0xfebf, ..] => "link-local (fe80::/10)",
        [0xfec0..=0xfeff, ..] => "site-local (fec0::/10)",
        [0xff00..=0xffff, ..] => "multicast",
        _ => return None,
    })
}

/// The addresses a link may be fetched from: public ones, and those an operator
/// admitted (`PALAVER_PREVIEW_ADMIT`: a test's own web server on loopback).
#[derive(Debug, Clone, Default)]
pub struct Guard {
    admitted: Vec<SocketAddr>,
}

impl Guard {
    pub fn admitting(admitted: Vec<SocketAddr>) -> Guard {
        Guard { admitted }
    }

    /// Whether the operator admitted `addr` though it is not public.
    pub fn admits(&self, addr: SocketAddr) -> bool {
        self.admitted.contains(&addr)
    }

    /// Why `addr` may not be fetched from (`None`: it may).
    pub fn refuses(&self, addr: SocketAddr) -> Option<&'static str> {
        if self.admitted.contains(&addr) {
            return None;
        }
        not_public(addr.ip())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_pass() {
        for public in ["8.8.8.8", "1.1.1.1", "93.184.215.14", "172.32.0.1", "100.128.0.1", "2606:4700:4700::1111"] {
            let ip: IpAddr = public.parse().unwrap();
            assert_eq!(not_public(ip), None, "{public}");
        }
        for blocked in [
            "0.0.0.0",
            "10.1.2.3",
            "100.64.0.1",
            "100.100.100.200",
            "127.0.0.1",
            "127.255.255.254",
            "169.254.169.254",
            "172.16.0.1",
            "172.31.255.255",
            "192.0.0.170",
            "192.0.2.1",
            "192.168.0.1",
            "198.18.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::ffff:8.8.8.8",
            "::127.0.0.1",
            "64:ff9b::7f00:1",
            "64:ff9b:1::a00:1",
            "2001::1",
            "2001:db8::1",
            "2002:7f00:1::",
            "fc00::1",
            "fd00:ec2::254",
            "fe80::1",
            "fec0::1",
            "ff02::1",
        ] {
            let ip: IpAddr = blocked.parse().unwrap();
            assert!(not_public(ip).is_some(), "{blocked} passed");
        }
    }

    #[test]
    fn an_admitted_address_passes_and_its_neighbours_do_not() {
        let admitted: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        let guard = Guard::admitting(vec![admitted]);
        assert_eq!(guard.refuses(admitted), None);
        assert!(guard.refuses("127.0.0.1:22".parse().unwrap()).is_some(), "another port");
        assert!(guard.refuses("127.0.0.2:8080".parse().unwrap()).is_some(), "another address");
    }
}
