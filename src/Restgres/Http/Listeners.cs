using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;

namespace Restgres.Http;

/// <summary>
/// Where a server listens, as PostgREST decides it for the API and the admin server alike: a unix socket when one is
/// configured (and then no TCP port at all), otherwise host and port with PostgREST's special host names.
/// </summary>
internal sealed record Listener(string Host, int Port, string? UnixSocket, int UnixSocketMode, bool ReusePort = false)
{
    /// <summary>Binds Kestrel: a unix socket replacing a stale one, or the TCP endpoints of the host.</summary>
    public void Bind(KestrelServerOptions kestrel)
    {
        ArgumentNullException.ThrowIfNull(kestrel);
        if (UnixSocket is { } path)
        {
            RemoveStaleSocket(path);
            kestrel.ListenUnixSocket(path);
            return;
        }
        foreach (var ep in Endpoints(Host, Port))
            kestrel.Listen(ep);
    }

    /// <summary>
    /// server-reuseport: SO_REUSEPORT on the listening sockets, so several processes can share one port (the kernel
    /// spreads connections over them) and a new process can bind before the old one lets go.
    /// </summary>
    /// <param name="bound">Told each listening socket made here, so that a draining instance can close it early
    /// (ApiServer.DrainAsync).</param>
    public void ConfigureTransport(IWebHostBuilder web, Action<Socket> bound)
    {
        ArgumentNullException.ThrowIfNull(web);
        if (!ReusePort || UnixSocket is not null) return;
        web.UseSockets(o => o.CreateBoundListenSocket = endpoint =>
        {
            if (endpoint is not IPEndPoint ip) return SocketTransportOptions.CreateDefaultBoundListenSocket(endpoint);
            var socket = new Socket(ip.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                if (ip.Address.Equals(IPAddress.IPv6Any)) socket.DualMode = true;
                const int solSocket = 1, soReusePort = 15; // Linux <asm-generic/socket.h>
                socket.SetRawSocketOption(solSocket, soReusePort, BitConverter.GetBytes(1));
                socket.Bind(ip);
                bound(socket);
                return socket;
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        });
    }

    /// <summary>
    /// server-reuseport: whether another process (another instance) listens on this port too, read from Linux's
    /// /proc/net/tcp and tcp6 (LISTEN sockets on the port whose inode is not one of this process's descriptors). Only
    /// then is there anywhere for clients to move to during a shutdown drain (ApiServer.DrainAsync); the last
    /// instance stops at once, as PostgREST does. False when it cannot be told (no /proc).
    /// </summary>
    public bool OthersListening()
    {
        if (!ReusePort || UnixSocket is not null) return false;
        try
        {
            var ours = new HashSet<string>(StringComparer.Ordinal);
            foreach (var fd in Directory.EnumerateFiles("/proc/self/fd"))
            {
                try
                {
                    if (new FileInfo(fd).LinkTarget is { } target && target.StartsWith("socket:[", StringComparison.Ordinal))
                        ours.Add(target["socket:[".Length..^1]);
                }
                catch (IOException)
                {
                    // closed meanwhile
                }
            }
            var port = Port.ToString("X4", System.Globalization.CultureInfo.InvariantCulture);
            foreach (var table in (ReadOnlySpan<string>)["/proc/net/tcp", "/proc/net/tcp6"])
            {
                if (!File.Exists(table)) continue;
                foreach (var line in File.ReadLines(table).Skip(1))
                {
                    // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
                    var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    if (f.Length > 9 && f[3] == "0A" && f[1].EndsWith(":" + port, StringComparison.Ordinal) && !ours.Contains(f[9]))
                        return true;
                }
            }
            return false;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>After binding: the socket file's mode (PostgREST sets it once the socket exists), and the address to log.</summary>
    public Uri Started(IServer server)
    {
        ArgumentNullException.ThrowIfNull(server);
        if (UnixSocket is { } path)
        {
            if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(path, (UnixFileMode)UnixSocketMode);
            return new Uri("unix:" + path);
        }
        // The address bound, wildcards included ("0.0.0.0:3000", "[::]:3000"), as PostgREST logs its socket's name;
        // ReachableAt turns a wildcard into loopback for this process's own requests.
        return new Uri(server.Features.Get<IServerAddressesFeature>()!.Addresses.First());
    }

    /// <summary>The started server's address as a client on this machine sends requests to it: a wildcard host
    /// replaced by loopback as <see cref="ReachableAt"/> does (an HTTP client refuses 0.0.0.0 as a target).</summary>
    public Uri Connectable(Uri started)
    {
        ArgumentNullException.ThrowIfNull(started);
        return started.Scheme == "unix" || ReachableAt(started) is not IPEndPoint ip
            ? started
            : new UriBuilder(started) { Host = ip.Address.ToString() }.Uri;
    }

    /// <summary>An address a client on this machine reaches the started server at (the wildcard addresses are
    /// reached over loopback).</summary>
    public EndPoint ReachableAt(Uri started)
    {
        ArgumentNullException.ThrowIfNull(started);
        if (UnixSocket is { } path) return new UnixDomainSocketEndPoint(path);
        var host = started.Host.Trim('[', ']');
        var address = IPAddress.TryParse(host, out var ip) ? ip : IPAddress.Loopback;
        if (address.Equals(IPAddress.Any)) address = IPAddress.Loopback;
        else if (address.Equals(IPAddress.IPv6Any)) address = IPAddress.IPv6Loopback;
        return new IPEndPoint(address, started.Port);
    }

    /// <summary>Whether a connection to <paramref name="endPoint"/> is accepted (within a second).</summary>
    public static async Task<bool> AcceptsAsync(EndPoint endPoint, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        using var socket = endPoint is UnixDomainSocketEndPoint
            ? new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified)
            : new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(TimeSpan.FromSeconds(1));
        try
        {
            await socket.ConnectAsync(endPoint, cts.Token);
            return true;
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>The address as PostgREST logs it ("API server listening on 127.0.0.1:3000", "[::1]:3000"; a unix
    /// socket as "unix:/path"), which scripts match.</summary>
    public static string Display(Uri started)
    {
        ArgumentNullException.ThrowIfNull(started);
        return started.Scheme == "unix" ? started.OriginalString : $"{started.Host}:{started.Port}";
    }

    /// <summary>What to say when binding failed.</summary>
    public string Describe(string hostOption, string portOption, string socketOption) => UnixSocket is { } path
        ? $"{socketOption} {path}"
        : $"{hostOption} {Host}, {portOption} {Port}";

    /// <summary>PostgREST's special host names (server-host docs): *, *4, !4 any IPv4; *6, !6 any IPv6.</summary>
    internal static IEnumerable<IPEndPoint> Endpoints(string host, int port) => host switch
    {
        "*" or "*4" or "!4" => [new IPEndPoint(IPAddress.Any, port)],
        "*6" or "!6" => [new IPEndPoint(IPAddress.IPv6Any, port)],
        "localhost" => [new IPEndPoint(IPAddress.Loopback, port)],
        _ => [new IPEndPoint(IPAddress.TryParse(host, out var ip) ? ip : Dns.GetHostAddresses(host)[0], port)],
    };

    /// <summary>
    /// A socket file left by a process that did not clean up (SIGKILL) would make the bind fail; PostgREST removes
    /// whatever is at the path first (UnixSocket.hs). One difference: a socket another server still listens on is
    /// left alone, so the bind fails and says so instead of taking that server's address.
    /// </summary>
    private static void RemoveStaleSocket(string path)
    {
        if (!File.Exists(path)) return;
        try
        {
            using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            probe.Connect(new UnixDomainSocketEndPoint(path));
            return;
        }
        catch (SocketException)
        {
            // Nobody listens there.
        }
        File.Delete(path);
    }
}
