namespace Restgres.Dev;

/// <summary><c>restgres dev</c>: a private PostgreSQL cluster with the demo app, served on port 3000.</summary>
public static class DevCommand
{
    public static Task<int> RunAsync(string[] args)
    {
        _ = args;
        Console.Error.WriteLine("restgres dev: not implemented yet");
        return Task.FromResult(1);
    }
}
