using System.Collections.Immutable;
using System.Globalization;
using System.Net;
using Microsoft.Extensions.Primitives;
using Restgres.Config;

namespace Restgres.RateLimiting;

/// <summary>
/// <c>server-trusted-proxies</c>: the addresses (CIDR ranges) whose <c>X-Forwarded-For</c> is believed. The client's
/// address is the peer's, unless the peer is trusted: then the <c>X-Forwarded-For</c> list is read from the right
/// (each proxy appends the address it saw), skipping trusted addresses, and the first untrusted one is the client.
/// From an untrusted peer the header is ignored, so a client cannot choose its own key. An IPv6 client is keyed by its
/// /64, the block one subscriber is given, so that stepping through its own addresses buys no new bucket.
/// </summary>
internal sealed class TrustedProxies
{
    private readonly ImmutableArray<IPNetwork> _networks;

    private TrustedProxies(string text, ImmutableArray<IPNetwork> networks)
    {
        Text = text;
        _networks = networks;
    }

    public string Text { get; }

    public static readonly TrustedProxies None = new("", []);

    /// <exception cref="ConfigException">An entry is not an address or CIDR range.</exception>
    public static TrustedProxies Parse(string option, string text)
    {
        var builder = ImmutableArray.CreateBuilder<IPNetwork>();
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (IPNetwork.TryParse(part, out var network)) builder.Add(network);
            else if (IPAddress.TryParse(part, out var ip))
                builder.Add(new IPNetwork(ip, ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128));
            else throw new ConfigException($"Invalid {option}: '{part}' is not an IP address or CIDR range (e.g. 10.0.0.0/8, ::1)", option);
        }
        return builder.Count == 0 ? None : new TrustedProxies(text.Trim(), builder.ToImmutable());
    }

    public bool IsEmpty => _networks.IsEmpty;

    public bool Trusts(IPAddress ip)
    {
        foreach (var n in _networks)
            if (n.Contains(ip)) return true;
        return false;
    }

    /// <summary>The client's address as the key text.</summary>
    public string ClientKey(IPAddress? peer, StringValues forwardedFor)
    {
        if (peer is null) return "-";
        if (peer.IsIPv4MappedToIPv6) peer = peer.MapToIPv4();
        if (_networks.IsEmpty || forwardedFor.Count == 0 || !Trusts(peer)) return Key(peer);
        // Right to left over every header line and every comma-separated entry.
        for (var line = forwardedFor.Count - 1; line >= 0; line--)
        {
            var value = (forwardedFor[line] ?? "").AsSpan();
            while (value.Length > 0)
            {
                var comma = value.LastIndexOf(',');
                var entry = value[(comma + 1)..].Trim();
                value = comma < 0 ? [] : value[..comma];
                if (entry.IsEmpty) continue;
                if (!TryParseEntry(entry, out var ip))
                    return entry.Length > 64 ? entry[..64].ToString() : entry.ToString();
                if (ip.IsIPv4MappedToIPv6) ip = ip.MapToIPv4();
                if (!Trusts(ip)) return Key(ip);
                peer = ip;
            }
        }
        // Every hop trusted: the leftmost is the client.
        return Key(peer);
    }

    /// <summary>An IPv4 address as text; an IPv6 address as its /64 (<c>2001:db8:1:2::/64</c>).</summary>
    private static string Key(IPAddress ip)
    {
        if (ip.AddressFamily != System.Net.Sockets.AddressFamily.InterNetworkV6) return ip.ToString();
        Span<byte> bytes = stackalloc byte[16];
        ip.TryWriteBytes(bytes, out _);
        bytes[8..].Clear();
        return new IPAddress(bytes).ToString() + "/64";
    }

    /// <summary>An address, possibly <c>[v6]</c>, <c>v4:port</c> or <c>[v6]:port</c>.</summary>
    private static bool TryParseEntry(ReadOnlySpan<char> entry, out IPAddress ip)
    {
        if (IPAddress.TryParse(entry, out ip!)) return true;
        if (entry[0] == '[')
        {
            var close = entry.IndexOf(']');
            return close > 0 && IPAddress.TryParse(entry[1..close], out ip!);
        }
        var colon = entry.IndexOf(':');
        return colon > 0 && entry.LastIndexOf(':') == colon
            && int.TryParse(entry[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out _)
            && IPAddress.TryParse(entry[..colon], out ip!);
    }

    public override string ToString() => Text;
}
