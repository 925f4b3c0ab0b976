using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using Restgres.Catalog;

namespace Restgres.Admin;

/// <summary>
/// The admin server's <c>/schema_cache</c>: the loaded schema cache as JSON, with the shape PostgREST's Aeson instances
/// give it (SchemaCache.hs toJSON; docs: references/admin_server.rst, "Runtime Schema Cache"): top-level
/// <c>dbTables</c>, <c>dbRelationships</c>, <c>dbRoutines</c>, <c>dbRepresentations</c>; maps with non-text keys as
/// arrays of <c>[key, value]</c> pairs; records with PostgREST's field names; sum types as <c>{"tag": ...}</c>.
/// Media handlers are not listed: Restgres keeps them in a lookup structure without an enumeration.
/// </summary>
internal static class SchemaCacheJson
{
    private static readonly JsonWriterOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static byte[] Serialize(SchemaCache cache)
    {
        ArgumentNullException.ThrowIfNull(cache);
        var buffer = new ArrayBufferWriter<byte>(64 * 1024);
        using (var w = new Utf8JsonWriter(buffer, Options))
        {
            w.WriteStartObject();
            // Haskell's HashMap as a list of [key, value] pairs, sorted by key so the dump is stable.
            Pairs(w, "dbTables", cache.Tables, Table);
            Pairs(w, "dbRelationships", cache.Relationships, (w, rels) =>
            {
                w.WriteStartArray();
                foreach (var r in rels) Relationship(w, r);
                w.WriteEndArray();
            });
            Pairs(w, "dbRoutines", cache.Routines, (w, routines) =>
            {
                w.WriteStartArray();
                foreach (var r in routines) Routine(w, r);
                w.WriteEndArray();
            });

            w.WriteStartArray("dbRepresentations");
            foreach (var ((source, target), rep) in cache.Representations.OrderBy(kv => kv.Key.Source, StringComparer.Ordinal).ThenBy(kv => kv.Key.Target, StringComparer.Ordinal))
            {
                w.WriteStartArray();
                w.WriteStartArray();
                w.WriteStringValue(source);
                w.WriteStringValue(target);
                w.WriteEndArray();
                w.WriteStartObject();
                w.WriteString("drSourceType", rep.SourceType);
                w.WriteString("drTargetType", rep.TargetType);
                w.WriteString("drFunction", rep.Function);
                w.WriteEndObject();
                w.WriteEndArray();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return SortKeys(buffer.WrittenMemory);
    }

    /// <summary>
    /// Every object's keys in ordinal order, as aeson 2 encodes a record (its KeyMap is an ordered map): scripts
    /// written against PostgREST's output look for text such as <c>"dbTables":[[{"qiName":...</c>.
    /// </summary>
    private static byte[] SortKeys(ReadOnlyMemory<byte> json)
    {
        using var doc = JsonDocument.Parse(json);
        var buffer = new ArrayBufferWriter<byte>(json.Length);
        using (var w = new Utf8JsonWriter(buffer, Options)) Write(w, doc.RootElement);
        return buffer.WrittenSpan.ToArray();

        static void Write(Utf8JsonWriter w, JsonElement e)
        {
            switch (e.ValueKind)
            {
                case JsonValueKind.Object:
                    w.WriteStartObject();
                    foreach (var p in e.EnumerateObject().OrderBy(p => p.Name, StringComparer.Ordinal))
                    {
                        w.WritePropertyName(p.Name);
                        Write(w, p.Value);
                    }
                    w.WriteEndObject();
                    break;
                case JsonValueKind.Array:
                    w.WriteStartArray();
                    foreach (var item in e.EnumerateArray()) Write(w, item);
                    w.WriteEndArray();
                    break;
                default:
                    e.WriteTo(w);
                    break;
            }
        }
    }

    private static void Pairs<T>(Utf8JsonWriter w, string name, IEnumerable<KeyValuePair<QualifiedIdentifier, T>> map, Action<Utf8JsonWriter, T> value)
    {
        w.WriteStartArray(name);
        foreach (var (key, v) in map.OrderBy(kv => kv.Key.Schema, StringComparer.Ordinal).ThenBy(kv => kv.Key.Name, StringComparer.Ordinal))
        {
            w.WriteStartArray();
            Qi(w, key);
            value(w, v);
            w.WriteEndArray();
        }
        w.WriteEndArray();
    }

    private static void Qi(Utf8JsonWriter w, QualifiedIdentifier qi)
    {
        w.WriteStartObject();
        w.WriteString("qiSchema", qi.Schema);
        w.WriteString("qiName", qi.Name);
        w.WriteEndObject();
    }

    private static void Qi(Utf8JsonWriter w, string property, QualifiedIdentifier qi)
    {
        w.WritePropertyName(property);
        Qi(w, qi);
    }

    private static void Table(Utf8JsonWriter w, Table t)
    {
        w.WriteStartObject();
        w.WriteString("tableSchema", t.Schema);
        w.WriteString("tableName", t.Name);
        w.WriteString("tableDescription", t.Description);
        w.WriteBoolean("tableIsView", t.IsView);
        w.WriteBoolean("tableInsertable", t.Insertable);
        w.WriteBoolean("tableUpdatable", t.Updatable);
        w.WriteBoolean("tableDeletable", t.Deletable);
        w.WriteStartArray("tablePKCols");
        foreach (var pk in t.PrimaryKey) w.WriteStringValue(pk);
        w.WriteEndArray();
        w.WriteStartObject("tableColumns");
        foreach (var c in t.Columns)
        {
            w.WriteStartObject(c.Name);
            w.WriteString("colName", c.Name);
            w.WriteString("colDescription", c.Description);
            w.WriteBoolean("colNullable", c.Nullable);
            w.WriteString("colType", c.DataType);
            w.WriteString("colNominalType", c.NominalType);
            if (c.MaxLength is { } max) w.WriteNumber("colMaxLen", max);
            else w.WriteNull("colMaxLen");
            w.WriteString("colDefault", c.Default);
            w.WriteStartArray("colEnum");
            foreach (var e in c.EnumValues) w.WriteStringValue(e);
            w.WriteEndArray();
            w.WriteEndObject();
        }
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private static void Pairs(Utf8JsonWriter w, string property, IEnumerable<(string A, string B)> pairs)
    {
        w.WriteStartArray(property);
        foreach (var (a, b) in pairs)
        {
            w.WriteStartArray();
            w.WriteStringValue(a);
            w.WriteStringValue(b);
            w.WriteEndArray();
        }
        w.WriteEndArray();
    }

    private static void Relationship(Utf8JsonWriter w, Relationship r)
    {
        w.WriteStartObject();
        if (r.Cardinality == Cardinality.Computed)
        {
            w.WriteString("tag", "ComputedRelationship");
            Qi(w, "relFunction", r.Function ?? default);
            Qi(w, "relTable", r.Table);
            Qi(w, "relForeignTable", r.ForeignTable);
            w.WriteBoolean("relToOne", r.ComputedToOne);
            w.WriteBoolean("relIsSelf", r.IsSelf);
            w.WriteEndObject();
            return;
        }
        w.WriteString("tag", "Relationship");
        Qi(w, "relTable", r.Table);
        Qi(w, "relForeignTable", r.ForeignTable);
        w.WriteBoolean("relIsSelf", r.IsSelf);
        w.WriteStartObject("relCardinality");
        switch (r.Cardinality)
        {
            case Cardinality.ManyToMany when r.Junction is { } j:
                w.WriteString("tag", "M2M");
                w.WriteStartObject("contents");
                Qi(w, "junTable", j.Table);
                w.WriteString("junConstraint1", j.Constraint1);
                w.WriteString("junConstraint2", j.Constraint2);
                Pairs(w, "junColsSource", j.SourceColumns);
                Pairs(w, "junColsTarget", j.TargetColumns);
                w.WriteEndObject();
                break;
            default:
                w.WriteString("tag", r.Cardinality switch
                {
                    Cardinality.OneToMany => "O2M",
                    Cardinality.OneToOne => "O2O",
                    _ => "M2O",
                });
                w.WriteString("relCons", r.Constraint);
                Pairs(w, "relColumns", r.Columns);
                if (r.Cardinality == Cardinality.OneToOne) w.WriteBoolean("isParent", r.O2OIsParent);
                break;
        }
        w.WriteEndObject();
        w.WriteBoolean("relTableIsView", r.TableIsView);
        w.WriteBoolean("relFTableIsView", r.ForeignTableIsView);
        w.WriteEndObject();
    }

    private static void Routine(Utf8JsonWriter w, Routine r)
    {
        w.WriteStartObject();
        w.WriteString("pdSchema", r.Schema);
        w.WriteString("pdName", r.Name);
        w.WriteString("pdDescription", r.Description);
        w.WriteStartArray("pdParams");
        foreach (var p in r.Params)
        {
            w.WriteStartObject();
            w.WriteString("ppName", p.Name);
            w.WriteString("ppType", p.Type);
            w.WriteString("ppTypeMaxLength", p.TypeMaxLength);
            w.WriteBoolean("ppReq", p.Required);
            w.WriteBoolean("ppVar", p.Variadic);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteStartObject("pdReturnType");
        w.WriteString("tag", r.ReturnsSet ? "SetOf" : "Single");
        w.WritePropertyName("contents");
        w.WriteStartObject();
        if (r.ReturnsComposite)
        {
            w.WriteString("tag", "Composite");
            w.WriteStartArray("contents");
            Qi(w, r.ReturnType);
            w.WriteBooleanValue(r.ReturnsCompositeAlias);
            w.WriteEndArray();
        }
        else
        {
            w.WriteString("tag", "Scalar");
            Qi(w, "contents", r.ReturnType);
        }
        w.WriteEndObject();
        w.WriteEndObject();
        w.WriteString("pdVolatility", r.Volatility.ToString());
        w.WriteBoolean("pdHasVariadic", r.HasVariadic);
        // hasql's IsolationLevel constructor names, as Aeson derives them.
        w.WriteString("pdIsoLvl", r.IsolationLevel?.ToUpperInvariant() switch
        {
            null => null,
            "SERIALIZABLE" => "Serializable",
            "REPEATABLE READ" => "RepeatableRead",
            _ => "ReadCommitted",
        });
        w.WriteStartArray("pdFuncSettings");
        foreach (var (k, v) in r.Settings)
        {
            w.WriteStartArray();
            w.WriteStringValue(k);
            w.WriteStringValue(v);
            w.WriteEndArray();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }
}
