using System.Buffers;
using System.Globalization;
using System.IO.Compression;

namespace Restgres.Http;

/// <summary>
/// <c>server-compression</c>: content-coding negotiation (RFC 9110 §12.5.3) and the gzip / br encoders.
/// </summary>
internal static class Compression
{
    /// <summary>
    /// The coding to send, from <paramref name="offered"/> (server preference order) and the request's
    /// <c>Accept-Encoding</c>; null for identity. A coding is acceptable with q &gt; 0, named or through <c>*</c>; the
    /// highest q wins, ties go to the server's order. With nothing acceptable the body goes unencoded even when
    /// <c>identity;q=0</c> (§12.5.3: "SHOULD send a response without any content coding").
    /// </summary>
    public static string? Negotiate(IReadOnlyList<string> offered, string? acceptEncoding)
    {
        if (string.IsNullOrEmpty(acceptEncoding)) return null;
        string? best = null;
        var bestQ = 0.0;
        foreach (var coding in offered)
        {
            var q = QualityOf(acceptEncoding, coding);
            if (q > bestQ) (best, bestQ) = (coding, q);
        }
        return best;
    }

    /// <summary>The q-value <paramref name="accept"/> gives <paramref name="coding"/>: its own element's, else
    /// <c>*</c>'s, else 0. An element with an unreadable q is ignored.</summary>
    private static double QualityOf(string accept, string coding)
    {
        double? star = null;
        foreach (var range in accept.AsSpan().Split(','))
        {
            var element = accept.AsSpan(range).Trim();
            var semi = element.IndexOf(';');
            var name = (semi < 0 ? element : element[..semi]).Trim();
            var q = 1.0;
            if (semi >= 0)
            {
                var param = element[(semi + 1)..].Trim();
                if (!param.StartsWith("q=", StringComparison.OrdinalIgnoreCase)
                    || !double.TryParse(param[2..], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out q)
                    || q > 1)
                    continue;
            }
            if (name.Equals(coding, StringComparison.OrdinalIgnoreCase)) return q;
            if (name is "*") star = q;
        }
        return star ?? 0;
    }

    /// <summary>Whether a response may be compressed at all: not an event stream (each event must reach the client
    /// when sent), and not a body the database already encoded (<c>Content-Encoding</c> via response.headers).</summary>
    public static bool Eligible(List<KeyValuePair<string, string>> headers)
    {
        foreach (var (k, v) in headers)
        {
            if (k.Equals("Content-Encoding", StringComparison.OrdinalIgnoreCase)) return false;
            if (k.Equals("Content-Type", StringComparison.OrdinalIgnoreCase)
                && v.StartsWith("text/event-stream", StringComparison.OrdinalIgnoreCase)) return false;
        }
        return true;
    }

    /// <summary>
    /// <paramref name="body"/> encoded with <paramref name="coding"/> at the fastest level (a response is compressed
    /// once per request: speed matters more than the last few percent of size). The result is in a pooled array the
    /// caller returns with <see cref="ArrayPool{T}.Shared"/>.
    /// </summary>
    public static (byte[] Buffer, int Length) Encode(ReadOnlySpan<byte> body, string coding)
    {
        if (coding == "br")
        {
            var buffer = ArrayPool<byte>.Shared.Rent(BrotliEncoder.GetMaxCompressedLength(body.Length));
            // Quality 1 is CompressionLevel.Fastest's; window 22 is the encoder's default.
            if (BrotliEncoder.TryCompress(body, buffer, out var written, quality: 1, window: 22)) return (buffer, written);
            ArrayPool<byte>.Shared.Return(buffer);
            throw new InvalidOperationException("Brotli compression failed");
        }
        var output = new PooledWriter(body.Length / 2 + 64);
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
            gzip.Write(body);
        return (output.Buffer, output.Written);
    }

    /// <summary>A write-only stream into one growing pooled array, handed over to the caller at the end.</summary>
    private sealed class PooledWriter(int capacity) : Stream
    {
        public byte[] Buffer { get; private set; } = ArrayPool<byte>.Shared.Rent(capacity);
        private int _length;

        public int Written => _length;
        public override long Length => _length;

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            if (_length + buffer.Length > Buffer.Length)
            {
                var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(Buffer.Length * 2, _length + buffer.Length));
                Buffer.AsSpan(0, _length).CopyTo(bigger);
                ArrayPool<byte>.Shared.Return(Buffer);
                Buffer = bigger;
            }
            buffer.CopyTo(Buffer.AsSpan(_length));
            _length += buffer.Length;
        }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Position { get => _length; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
