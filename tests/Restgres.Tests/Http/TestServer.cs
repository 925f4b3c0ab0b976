using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using Restgres.Config;
using Restgres.Http;

namespace Restgres.Tests.Http;

/// <summary>A response as the tests look at it: status, every header (values of a repeated one joined by ", "), body.</summary>
public sealed record Reply(int Status, IReadOnlyDictionary<string, string> Headers, string Body)
{
    public string? Header(string name) => Headers.TryGetValue(name, out var v) ? v : null;

    public override string ToString() =>
        $"{Status}\n{string.Join("\n", Headers.Select(h => h.Key + ": " + h.Value))}\n\n{Body}";

    /// <summary>Sends <paramref name="get"/> every 50 ms until its reply is <paramref name="done"/> or
    /// <paramref name="seconds"/> have passed; returns the last reply (the caller asserts on it).</summary>
    public static async Task<Reply> UntilAsync(Func<Task<Reply>> get, Func<Reply, bool> done, int seconds = 10)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (true)
        {
            var r = await get();
            if (done(r) || DateTime.UtcNow > deadline) return r;
            await Task.Delay(50);
        }
    }
}

/// <summary>
/// A real <see cref="ApiServer"/> on 127.0.0.1 (random port) and a _client for it. Requests go through
/// <see cref="HttpClient"/>, or through <see cref="SendRawAsync"/> when the bytes on the wire matter (invalid
/// UTF-8, oversized request lines).
/// </summary>
public sealed class TestServer : IAsyncDisposable
{
    private readonly HttpClient _client;

    private TestServer(ApiServer server)
    {
        Server = server;
        _client = new HttpClient(new SocketsHttpHandler
        {
            UseProxy = false,
            UseCookies = false,
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
        })
        {
            BaseAddress = server.BaseAddress,
            Timeout = TimeSpan.FromSeconds(30),
        };
    }

    internal ApiServer Server { get; }

    public Uri BaseAddress => Server.BaseAddress;

    /// <summary>Starts a server bound to 127.0.0.1 on a free port; logs go to <paramref name="log"/> (dropped when null).</summary>
    internal static async Task<TestServer> StartAsync(AppConfig config, Action<string>? log = null)
    {
        config = config with { ServerHost = "127.0.0.1", ServerPort = 0 };
        var server = await ApiServer.StartAsync(config, CancellationToken.None, log ?? (_ => { }));
        return new TestServer(server);
    }

    public Task<Reply> GetAsync(string pathAndQuery, params (string Name, string Value)[] headers) =>
        SendAsync(HttpMethod.Get, pathAndQuery, headers);

    public Task<Reply> SendAsync(HttpMethod method, string pathAndQuery, params (string Name, string Value)[] headers) =>
        SendAsync(method, pathAndQuery, null, headers);

    public async Task<Reply> SendAsync(HttpMethod method, string pathAndQuery, string? body, params (string Name, string Value)[] headers)
    {
        using var request = new HttpRequestMessage(method, new Uri(pathAndQuery, UriKind.Relative));
        if (body is not null) request.Content = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
        foreach (var (name, value) in headers)
        {
            if (!request.Headers.TryAddWithoutValidation(name, value))
            {
                request.Content ??= new ByteArrayContent([]);
                request.Content.Headers.TryAddWithoutValidation(name, value);
            }
        }
        using var response = await _client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        var all = new SortedDictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        void Add(HttpHeaders hs)
        {
            foreach (var h in hs)
                all[h.Key] = all.TryGetValue(h.Key, out var prev) ? prev + ", " + string.Join(", ", h.Value) : string.Join(", ", h.Value);
        }
        Add(response.Headers);
        Add(response.Content.Headers);
        return new Reply((int)response.StatusCode, all, text);
    }

    /// <summary>
    /// Sends <paramref name="request"/> byte for byte on a fresh connection and reads the answer until the server
    /// closes it or the Content-Length is read (a 10 s cap keeps a hanging server from hanging the test).
    /// </summary>
    public async Task<Reply> SendRawAsync(byte[] request)
    {
        using var tcp = new TcpClient();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await tcp.ConnectAsync(BaseAddress.Host, BaseAddress.Port, cts.Token);
        var stream = tcp.GetStream();
        try
        {
            await stream.WriteAsync(request, cts.Token);
        }
        catch (IOException)
        {
            // The server may answer and close before it has read an oversized request; read what it said.
        }
        var buffer = new MemoryStream();
        var chunk = new byte[16384];
        while (true)
        {
            int n;
            try
            {
                n = await stream.ReadAsync(chunk, cts.Token);
            }
            catch (IOException)
            {
                break;
            }
            if (n == 0) break;
            buffer.Write(chunk, 0, n);
            if (TryParse(buffer.ToArray(), atEof: false, out var done)) return done;
        }
        if (TryParse(buffer.ToArray(), atEof: true, out var reply)) return reply;
        throw new InvalidOperationException("no complete HTTP response: " + Encoding.Latin1.GetString(buffer.ToArray()));
    }

    /// <summary>Builds a raw HTTP/1.1 request with Host and Connection: close.</summary>
    public byte[] RawRequest(string method, byte[] target, params (string Name, string Value)[] headers)
    {
        var head = new MemoryStream();
        head.Write(Encoding.ASCII.GetBytes(method + " "));
        head.Write(target);
        var sb = new StringBuilder(" HTTP/1.1\r\nHost: ").Append(BaseAddress.Authority).Append("\r\nConnection: close\r\n");
        foreach (var (name, value) in headers)
            sb.Append(name).Append(": ").Append(value).Append("\r\n");
        sb.Append("\r\n");
        head.Write(Encoding.Latin1.GetBytes(sb.ToString()));
        return head.ToArray();
    }

    private static bool TryParse(byte[] raw, bool atEof, out Reply reply)
    {
        reply = null!;
        var text = Encoding.Latin1.GetString(raw);
        var end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        if (end < 0) return false;
        var lines = text[..end].Split("\r\n");
        var status = int.Parse(lines[0].Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
        var headers = new SortedDictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var line in lines.Skip(1))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            var (k, v) = (line[..colon], line[(colon + 1)..].Trim());
            headers[k] = headers.TryGetValue(k, out var prev) ? prev + ", " + v : v;
        }
        var bodyBytes = raw.AsSpan(Encoding.Latin1.GetByteCount(text[..(end + 4)]));
        if (headers.TryGetValue("Content-Length", out var cl))
        {
            var length = int.Parse(cl, System.Globalization.CultureInfo.InvariantCulture);
            if (bodyBytes.Length < length) return false;
            bodyBytes = bodyBytes[..length];
        }
        else if (headers.TryGetValue("Transfer-Encoding", out var te) && te.Contains("chunked", StringComparison.OrdinalIgnoreCase))
        {
            var decoded = TryDechunk(bodyBytes.ToArray());
            if (decoded is null) return false;
            reply = new Reply(status, headers, Encoding.UTF8.GetString(decoded));
            return true;
        }
        else if (!atEof)
        {
            return false;
        }
        reply = new Reply(status, headers, Encoding.UTF8.GetString(bodyBytes));
        return true;
    }

    private static byte[]? TryDechunk(byte[] body)
    {
        var output = new MemoryStream();
        var pos = 0;
        while (true)
        {
            var lineEnd = IndexOfCrLf(body, pos);
            if (lineEnd < 0) return null;
            var size = Convert.ToInt32(Encoding.ASCII.GetString(body, pos, lineEnd - pos).Split(';')[0].Trim(), 16);
            pos = lineEnd + 2;
            if (size == 0) return output.ToArray();
            if (pos + size + 2 > body.Length) return null;
            output.Write(body, pos, size);
            pos += size + 2;
        }
    }

    private static int IndexOfCrLf(byte[] b, int from)
    {
        for (var i = from; i + 1 < b.Length; i++)
            if (b[i] == '\r' && b[i + 1] == '\n') return i;
        return -1;
    }

    public async ValueTask DisposeAsync()
    {
        _client.Dispose();
        await Server.DisposeAsync();
    }
}
