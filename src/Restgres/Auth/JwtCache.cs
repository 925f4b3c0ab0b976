using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;

namespace Restgres.Auth;

/// <summary>
/// The JWT validation cache (PostgREST's Auth/JwtCache.hs, <c>jwt-cache-max-entries</c>): token text → its
/// <see cref="ValidatedToken"/>, holding at most <c>capacity</c> entries and evicting with SIEVE like PostgREST's
/// <c>Cache.Sieve</c> (a hit only sets a "visited" bit; eviction sweeps a hand from the oldest entry, sparing and
/// clearing visited ones). Only successfully decoded tokens are cached, as in PostgREST. An entry whose <c>exp</c>
/// has passed is dropped when next looked up.
/// <para>Lookups are lock-free and allocation-free (a span lookup in a concurrent dictionary); insertions,
/// removals and evictions take one lock, and only happen after a signature check, which costs far more.</para>
/// </summary>
internal sealed class JwtCache
{
    private sealed class Node(string key, ValidatedToken value)
    {
        public readonly string Key = key;
        public readonly ValidatedToken Value = value;
        public bool Visited;
        public Node? Newer;
        public Node? Older;
    }

    private readonly ConcurrentDictionary<string, Node> _map = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Node>.AlternateLookup<ReadOnlySpan<char>> _lookup;
    private readonly Lock _gate = new();
    private readonly int _capacity;
    private Node? _newest;
    private Node? _oldest;
    private Node? _hand;
    private int _count;
    private long _hits;
    private long _misses;
    private long _evictions;

    public JwtCache(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        _capacity = capacity;
        _lookup = _map.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    public int Capacity => _capacity;
    public int Count => Volatile.Read(ref _count);
    public long Hits => Interlocked.Read(ref _hits);
    public long Misses => Interlocked.Read(ref _misses);
    public long Evictions => Interlocked.Read(ref _evictions);

    public bool TryGet(ReadOnlySpan<char> token, [NotNullWhen(true)] out ValidatedToken? value)
    {
        if (_lookup.TryGetValue(token, out var node))
        {
            // Read before write so that hot entries do not bounce their cache line between cores.
            if (!node.Visited) node.Visited = true;
            Interlocked.Increment(ref _hits);
            value = node.Value;
            return true;
        }
        Interlocked.Increment(ref _misses);
        value = null;
        return false;
    }

    public void Add(string token, ValidatedToken value)
    {
        lock (_gate)
        {
            if (_map.ContainsKey(token)) return;
            while (_count >= _capacity) Evict();
            var node = new Node(token, value) { Older = _newest };
            if (_newest is not null) _newest.Newer = node;
            _newest = node;
            _oldest ??= node;
            _map[token] = node;
            _count++;
        }
    }

    /// <summary>Drops the entry of <paramref name="token"/> if it still holds <paramref name="value"/>.</summary>
    public void Remove(ReadOnlySpan<char> token, ValidatedToken value)
    {
        lock (_gate)
        {
            if (_lookup.TryGetValue(token, out var node) && ReferenceEquals(node.Value, value)) Unlink(node);
        }
    }

    private void Evict()
    {
        var node = _hand ?? _oldest!;
        while (node.Visited)
        {
            node.Visited = false;
            node = node.Newer ?? _oldest!;
        }
        var next = node.Newer;
        Unlink(node);
        _hand = next;
        Interlocked.Increment(ref _evictions);
    }

    private void Unlink(Node node)
    {
        if (_hand == node) _hand = node.Newer;
        if (node.Newer is not null) node.Newer.Older = node.Older;
        else _newest = node.Older;
        if (node.Older is not null) node.Older.Newer = node.Newer;
        else _oldest = node.Newer;
        node.Newer = node.Older = null;
        _map.TryRemove(new KeyValuePair<string, Node>(node.Key, node));
        _count--;
    }
}
