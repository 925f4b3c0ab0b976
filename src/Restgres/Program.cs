using Restgres.Cli;

return await CommandLine.RunAsync(args);
