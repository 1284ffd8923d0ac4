# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_carbonara_global_optspecs
    string join \n store= f/format= c/column= q/quiet h/help V/version
end

function __fish_carbonara_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_carbonara_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_carbonara_using_subcommand
    set -l cmd (__fish_carbonara_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c carbonara -n "__fish_carbonara_needs_command" -l store -d 'The store directory [default: $CARBONARA_STORE, else ./carbonara-data]' -r -F
complete -c carbonara -n "__fish_carbonara_needs_command" -s f -l format -d 'Output format of commands that print records' -r -f -a "table\t'An ASCII table'
json\t'JSON, floats and NaN as Gnocchi\'s API writes them'
csv\t'CSV with a header row'
value\t'Bare values: one row per line, separated by spaces'"
complete -c carbonara -n "__fish_carbonara_needs_command" -s c -l column -d 'Print only this column (or field); repeat for more' -r
complete -c carbonara -n "__fish_carbonara_needs_command" -s q -l quiet -d 'No progress or summaries on stderr'
complete -c carbonara -n "__fish_carbonara_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c carbonara -n "__fish_carbonara_needs_command" -s V -l version -d 'Print version'
complete -c carbonara -n "__fish_carbonara_needs_command" -f -a "init" -d 'Create a store, with Gnocchi\'s default archive policies'
complete -c carbonara -n "__fish_carbonara_needs_command" -f -a "demo" -d 'Build a sample store, process it and print what it holds'
complete -c carbonara -n "__fish_carbonara_needs_command" -f -a "archive-policy" -d 'Create, list, show, update and delete archive policies'
complete -c carbonara -n "__fish_carbonara_needs_command" -f -a "archive-policy-rule" -d 'Create, list, show and delete archive-policy rules'
complete -c carbonara -n "__fish_carbonara_needs_command" -f -a "metric" -d 'Create, list, show and delete metrics'
complete -c carbonara -n "__fish_carbonara_needs_command" -f -a "measures" -d 'Add measures to a metric and read its aggregates'
complete -c carbonara -n "__fish_carbonara_needs_command" -f -a "aggregates" -d 'Evaluate operations over the aggregates of several metrics'
complete -c carbonara -n "__fish_carbonara_needs_command" -f -a "ingest" -d 'Import measures from files'
complete -c carbonara -n "__fish_carbonara_needs_command" -f -a "process" -d 'Run the aggregation pass (Gnocchi\'s metricd) over waiting measures'
complete -c carbonara -n "__fish_carbonara_needs_command" -f -a "status" -d 'Show the measures waiting to be processed'
complete -c carbonara -n "__fish_carbonara_needs_command" -f -a "generate" -d 'Write the man pages and shell completions'
complete -c carbonara -n "__fish_carbonara_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c carbonara -n "__fish_carbonara_using_subcommand init" -l sacks -d 'Number of sacks (incoming queues), 1 to 65535' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand init" -l store -d 'The store directory [default: $CARBONARA_STORE, else ./carbonara-data]' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand init" -s f -l format -d 'Output format of commands that print records' -r -f -a "table\t'An ASCII table'
json\t'JSON, floats and NaN as Gnocchi\'s API writes them'
csv\t'CSV with a header row'
value\t'Bare values: one row per line, separated by spaces'"
complete -c carbonara -n "__fish_carbonara_using_subcommand init" -s c -l column -d 'Print only this column (or field); repeat for more' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand init" -l no-archive-policies -d 'Create no archive policies and no rule'
complete -c carbonara -n "__fish_carbonara_using_subcommand init" -s q -l quiet -d 'No progress or summaries on stderr'
complete -c carbonara -n "__fish_carbonara_using_subcommand init" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c carbonara -n "__fish_carbonara_using_subcommand init" -s V -l version -d 'Print version'
complete -c carbonara -n "__fish_carbonara_using_subcommand demo" -l keep -d 'Build the sample store here and keep it (default: a temporary store, removed at the end)' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand demo" -l store -d 'The store directory [default: $CARBONARA_STORE, else ./carbonara-data]' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand demo" -s f -l format -d 'Output format of commands that print records' -r -f -a "table\t'An ASCII table'
json\t'JSON, floats and NaN as Gnocchi\'s API writes them'
csv\t'CSV with a header row'
value\t'Bare values: one row per line, separated by spaces'"
complete -c carbonara -n "__fish_carbonara_using_subcommand demo" -s c -l column -d 'Print only this column (or field); repeat for more' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand demo" -s q -l quiet -d 'No progress or summaries on stderr'
complete -c carbonara -n "__fish_carbonara_using_subcommand demo" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c carbonara -n "__fish_carbonara_using_subcommand demo" -s V -l version -d 'Print version'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and not __fish_seen_subcommand_from create list show update delete help" -l store -d 'The store directory [default: $CARBONARA_STORE, else ./carbonara-data]' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and not __fish_seen_subcommand_from create list show update delete help" -s f -l format -d 'Output format of commands that print records' -r -f -a "table\t'An ASCII table'
json\t'JSON, floats and NaN as Gnocchi\'s API writes them'
csv\t'CSV with a header row'
value\t'Bare values: one row per line, separated by spaces'"
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and not __fish_seen_subcommand_from create list show update delete help" -s c -l column -d 'Print only this column (or field); repeat for more' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and not __fish_seen_subcommand_from create list show update delete help" -s q -l quiet -d 'No progress or summaries on stderr'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and not __fish_seen_subcommand_from create list show update delete help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and not __fish_seen_subcommand_from create list show update delete help" -s V -l version -d 'Print version'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and not __fish_seen_subcommand_from create list show update delete help" -f -a "create" -d 'Create an archive policy'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and not __fish_seen_subcommand_from create list show update delete help" -f -a "list" -d 'List the archive policies'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and not __fish_seen_subcommand_from create list show update delete help" -f -a "show" -d 'Show an archive policy'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and not __fish_seen_subcommand_from create list show update delete help" -f -a "update" -d 'Change the points or timespans of an archive policy, or its back window'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and not __fish_seen_subcommand_from create list show update delete help" -f -a "delete" -d 'Delete an archive policy no metric or rule uses'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and not __fish_seen_subcommand_from create list show update delete help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from create" -s d -l definition -d 'Two of granularity, points and timespan, e.g. `granularity:1m,timespan:7d`; repeat for each granularity' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from create" -s b -l back-window -d 'Extra blocks of raw points kept for late measures' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from create" -s m -l aggregation-method -d 'Aggregation method (`mean`, `95pct`, `rate:max`, `*`, `+m`, `-m`); repeat for more [default: mean min max sum std count]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from create" -l store -d 'The store directory [default: $CARBONARA_STORE, else ./carbonara-data]' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from create" -s f -l format -d 'Output format of commands that print records' -r -f -a "table\t'An ASCII table'
json\t'JSON, floats and NaN as Gnocchi\'s API writes them'
csv\t'CSV with a header row'
value\t'Bare values: one row per line, separated by spaces'"
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from create" -s c -l column -d 'Print only this column (or field); repeat for more' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from create" -s q -l quiet -d 'No progress or summaries on stderr'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from create" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from create" -s V -l version -d 'Print version'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from list" -l store -d 'The store directory [default: $CARBONARA_STORE, else ./carbonara-data]' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from list" -s f -l format -d 'Output format of commands that print records' -r -f -a "table\t'An ASCII table'
json\t'JSON, floats and NaN as Gnocchi\'s API writes them'
csv\t'CSV with a header row'
value\t'Bare values: one row per line, separated by spaces'"
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from list" -s c -l column -d 'Print only this column (or field); repeat for more' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from list" -s q -l quiet -d 'No progress or summaries on stderr'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from show" -l store -d 'The store directory [default: $CARBONARA_STORE, else ./carbonara-data]' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from show" -s f -l format -d 'Output format of commands that print records' -r -f -a "table\t'An ASCII table'
json\t'JSON, floats and NaN as Gnocchi\'s API writes them'
csv\t'CSV with a header row'
value\t'Bare values: one row per line, separated by spaces'"
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from show" -s c -l column -d 'Print only this column (or field); repeat for more' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from show" -s q -l quiet -d 'No progress or summaries on stderr'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from show" -s V -l version -d 'Print version'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from update" -s d -l definition -d 'The new definitions, with the same granularities as before' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from update" -s b -l back-window -d 'New back window' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from update" -l store -d 'The store directory [default: $CARBONARA_STORE, else ./carbonara-data]' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from update" -s f -l format -d 'Output format of commands that print records' -r -f -a "table\t'An ASCII table'
json\t'JSON, floats and NaN as Gnocchi\'s API writes them'
csv\t'CSV with a header row'
value\t'Bare values: one row per line, separated by spaces'"
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from update" -s c -l column -d 'Print only this column (or field); repeat for more' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from update" -s q -l quiet -d 'No progress or summaries on stderr'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from update" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from update" -s V -l version -d 'Print version'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from delete" -l store -d 'The store directory [default: $CARBONARA_STORE, else ./carbonara-data]' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from delete" -s f -l format -d 'Output format of commands that print records' -r -f -a "table\t'An ASCII table'
json\t'JSON, floats and NaN as Gnocchi\'s API writes them'
csv\t'CSV with a header row'
value\t'Bare values: one row per line, separated by spaces'"
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from delete" -s c -l column -d 'Print only this column (or field); repeat for more' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from delete" -s q -l quiet -d 'No progress or summaries on stderr'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from delete" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from delete" -s V -l version -d 'Print version'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from help" -f -a "create" -d 'Create an archive policy'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from help" -f -a "list" -d 'List the archive policies'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from help" -f -a "show" -d 'Show an archive policy'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from help" -f -a "update" -d 'Change the points or timespans of an archive policy, or its back window'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from help" -f -a "delete" -d 'Delete an archive policy no metric or rule uses'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy-rule; and not __fish_seen_subcommand_from create list show delete help" -l store -d 'The store directory [default: $CARBONARA_STORE, else ./carbonara-data]' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy-rule; and not __fish_seen_subcommand_from create list show delete help" -s f -l format -d 'Output format of commands that print records' -r -f -a "table\t'An ASCII table'
json\t'JSON, floats and NaN as Gnocchi\'s API writes them'
csv\t'CSV with a header row'
value\t'Bare values: one row per line, separated by spaces'"
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy-rule; and not __fish_seen_subcommand_from create list show delete help" -s c -l column -d 'Print only this column (or field); repeat for more' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy-rule; and not __fish_seen_subcommand_from create list show delete help" -s q -l quiet -d 'No progress or summaries on stderr'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy-rule; and not __fish_seen_subcommand_from create list show delete help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy-rule; and not __fish_seen_subcommand_from create list show delete help" -s V -l version -d 'Print version'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy-rule; and not __fish_seen_subcommand_from create list show delete help" -f -a "create" -d 'Create a rule'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy-rule; and not __fish_seen_subcommand_from create list show delete help" -f -a "list" -d 'List the rules, in matching order'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy-rule; and not __fish_seen_subcommand_from create list show delete help" -f -a "show" -d 'Show a rule'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy-rule; and not __fish_seen_subcommand_from create list show delete help" -f -a "delete" -d 'Delete a rule'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy-rule; and not __fish_seen_subcommand_from create list show delete help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy-rule; and __fish_seen_subcommand_from create" -s a -l archive-policy-name -d 'Archive policy given to matching metrics' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy-rule; and __fish_seen_subcommand_from create" -s m -l metric-pattern -d 'Shell pattern (`*`, `?`, `[seq]`) matched against metric names' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy-rule; and __fish_seen_subcommand_from create" -l store -d 'The store directory [default: $CARBONARA_STORE, else ./carbonara-data]' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy-rule; and __fish_seen_subcommand_from create" -s f -l format -d 'Output format of commands that print records' -r -f -a "table\t'An ASCII table'
json\t'JSON, floats and NaN as Gnocchi\'s API writes them'
csv\t'CSV with a header row'
value\t'Bare values: one row per line, separated by spaces'"
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy-rule; and __fish_seen_subcommand_from create" -s c -l column -d 'Print only this column (or field); repeat for more' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy-rule; and __fish_seen_subcommand_from create" -s q -l quiet -d 'No progress or summaries on stderr'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy-rule; and __fish_seen_subcommand_from create" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy-rule; and __fish_seen_subcommand_from create" -s V -l version -d 'Print version'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy-rule; and __fish_seen_subcommand_from list" -l store -d 'The store directory [default: $CARBONARA_STORE, else ./carbonara-data]' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy-rule; and __fish_seen_subcommand_from list" -s f -l format -d 'Output format of commands that print records' -r -f -a "table\t'An ASCII table'
json\t'JSON, floats and NaN as Gnocchi\'s API writes them'
csv\t'CSV with a header row'
value\t'Bare values: one row per line, separated by spaces'"
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy-rule; and __fish_seen_subcommand_from list" -s c -l column -d 'Print only this column (or field); repeat for more' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy-rule; and __fish_seen_subcommand_from list" -s q -l quiet -d 'No progress or summaries on stderr'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy-rule; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy-rule; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy-rule; and __fish_seen_subcommand_from show" -l store -d 'The store directory [default: $CARBONARA_STORE, else ./carbonara-data]' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy-rule; and __fish_seen_subcommand_from show" -s f -l format -d 'Output format of commands that print records' -r -f -a "table\t'An ASCII table'
json\t'JSON, floats and NaN as Gnocchi\'s API writes them'
csv\t'CSV with a header row'
value\t'Bare values: one row per line, separated by spaces'"
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy-rule; and __fish_seen_subcommand_from show" -s c -l column -d 'Print only this column (or field); repeat for more' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy-rule; and __fish_seen_subcommand_from show" -s q -l quiet -d 'No progress or summaries on stderr'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy-rule; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy-rule; and __fish_seen_subcommand_from show" -s V -l version -d 'Print version'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy-rule; and __fish_seen_subcommand_from delete" -l store -d 'The store directory [default: $CARBONARA_STORE, else ./carbonara-data]' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy-rule; and __fish_seen_subcommand_from delete" -s f -l format -d 'Output format of commands that print records' -r -f -a "table\t'An ASCII table'
json\t'JSON, floats and NaN as Gnocchi\'s API writes them'
csv\t'CSV with a header row'
value\t'Bare values: one row per line, separated by spaces'"
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy-rule; and __fish_seen_subcommand_from delete" -s c -l column -d 'Print only this column (or field); repeat for more' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy-rule; and __fish_seen_subcommand_from delete" -s q -l quiet -d 'No progress or summaries on stderr'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy-rule; and __fish_seen_subcommand_from delete" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy-rule; and __fish_seen_subcommand_from delete" -s V -l version -d 'Print version'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy-rule; and __fish_seen_subcommand_from help" -f -a "create" -d 'Create a rule'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy-rule; and __fish_seen_subcommand_from help" -f -a "list" -d 'List the rules, in matching order'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy-rule; and __fish_seen_subcommand_from help" -f -a "show" -d 'Show a rule'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy-rule; and __fish_seen_subcommand_from help" -f -a "delete" -d 'Delete a rule'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy-rule; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and not __fish_seen_subcommand_from create list show delete help" -l store -d 'The store directory [default: $CARBONARA_STORE, else ./carbonara-data]' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and not __fish_seen_subcommand_from create list show delete help" -s f -l format -d 'Output format of commands that print records' -r -f -a "table\t'An ASCII table'
json\t'JSON, floats and NaN as Gnocchi\'s API writes them'
csv\t'CSV with a header row'
value\t'Bare values: one row per line, separated by spaces'"
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and not __fish_seen_subcommand_from create list show delete help" -s c -l column -d 'Print only this column (or field); repeat for more' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and not __fish_seen_subcommand_from create list show delete help" -s q -l quiet -d 'No progress or summaries on stderr'
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and not __fish_seen_subcommand_from create list show delete help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and not __fish_seen_subcommand_from create list show delete help" -s V -l version -d 'Print version'
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and not __fish_seen_subcommand_from create list show delete help" -f -a "create" -d 'Create a metric'
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and not __fish_seen_subcommand_from create list show delete help" -f -a "list" -d 'List the metrics'
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and not __fish_seen_subcommand_from create list show delete help" -f -a "show" -d 'Show a metric'
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and not __fish_seen_subcommand_from create list show delete help" -f -a "delete" -d 'Delete metrics; their data is removed by the next `process`'
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and not __fish_seen_subcommand_from create list show delete help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from create" -s a -l archive-policy-name -d 'Archive policy [default: the first archive-policy rule matching the name]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from create" -s u -l unit -d 'Unit of the measures' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from create" -l store -d 'The store directory [default: $CARBONARA_STORE, else ./carbonara-data]' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from create" -s f -l format -d 'Output format of commands that print records' -r -f -a "table\t'An ASCII table'
json\t'JSON, floats and NaN as Gnocchi\'s API writes them'
csv\t'CSV with a header row'
value\t'Bare values: one row per line, separated by spaces'"
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from create" -s c -l column -d 'Print only this column (or field); repeat for more' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from create" -s q -l quiet -d 'No progress or summaries on stderr'
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from create" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from create" -s V -l version -d 'Print version'
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from list" -l store -d 'The store directory [default: $CARBONARA_STORE, else ./carbonara-data]' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from list" -s f -l format -d 'Output format of commands that print records' -r -f -a "table\t'An ASCII table'
json\t'JSON, floats and NaN as Gnocchi\'s API writes them'
csv\t'CSV with a header row'
value\t'Bare values: one row per line, separated by spaces'"
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from list" -s c -l column -d 'Print only this column (or field); repeat for more' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from list" -s q -l quiet -d 'No progress or summaries on stderr'
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from show" -l store -d 'The store directory [default: $CARBONARA_STORE, else ./carbonara-data]' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from show" -s f -l format -d 'Output format of commands that print records' -r -f -a "table\t'An ASCII table'
json\t'JSON, floats and NaN as Gnocchi\'s API writes them'
csv\t'CSV with a header row'
value\t'Bare values: one row per line, separated by spaces'"
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from show" -s c -l column -d 'Print only this column (or field); repeat for more' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from show" -s q -l quiet -d 'No progress or summaries on stderr'
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from show" -s V -l version -d 'Print version'
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from delete" -l store -d 'The store directory [default: $CARBONARA_STORE, else ./carbonara-data]' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from delete" -s f -l format -d 'Output format of commands that print records' -r -f -a "table\t'An ASCII table'
json\t'JSON, floats and NaN as Gnocchi\'s API writes them'
csv\t'CSV with a header row'
value\t'Bare values: one row per line, separated by spaces'"
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from delete" -s c -l column -d 'Print only this column (or field); repeat for more' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from delete" -s q -l quiet -d 'No progress or summaries on stderr'
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from delete" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from delete" -s V -l version -d 'Print version'
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from help" -f -a "create" -d 'Create a metric'
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from help" -f -a "list" -d 'List the metrics'
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from help" -f -a "show" -d 'Show a metric'
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from help" -f -a "delete" -d 'Delete metrics; their data is removed by the next `process`'
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and not __fish_seen_subcommand_from add show help" -l store -d 'The store directory [default: $CARBONARA_STORE, else ./carbonara-data]' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and not __fish_seen_subcommand_from add show help" -s f -l format -d 'Output format of commands that print records' -r -f -a "table\t'An ASCII table'
json\t'JSON, floats and NaN as Gnocchi\'s API writes them'
csv\t'CSV with a header row'
value\t'Bare values: one row per line, separated by spaces'"
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and not __fish_seen_subcommand_from add show help" -s c -l column -d 'Print only this column (or field); repeat for more' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and not __fish_seen_subcommand_from add show help" -s q -l quiet -d 'No progress or summaries on stderr'
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and not __fish_seen_subcommand_from add show help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and not __fish_seen_subcommand_from add show help" -s V -l version -d 'Print version'
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and not __fish_seen_subcommand_from add show help" -f -a "add" -d 'Add measures to a metric (processed by the next `process`)'
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and not __fish_seen_subcommand_from add show help" -f -a "show" -d 'Show the aggregates of a metric'
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and not __fish_seen_subcommand_from add show help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and __fish_seen_subcommand_from add" -s m -l measure -d 'A measure as TIMESTAMP@VALUE (ISO 8601 or epoch seconds); repeat for more' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and __fish_seen_subcommand_from add" -l store -d 'The store directory [default: $CARBONARA_STORE, else ./carbonara-data]' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and __fish_seen_subcommand_from add" -s f -l format -d 'Output format of commands that print records' -r -f -a "table\t'An ASCII table'
json\t'JSON, floats and NaN as Gnocchi\'s API writes them'
csv\t'CSV with a header row'
value\t'Bare values: one row per line, separated by spaces'"
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and __fish_seen_subcommand_from add" -s c -l column -d 'Print only this column (or field); repeat for more' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and __fish_seen_subcommand_from add" -s q -l quiet -d 'No progress or summaries on stderr'
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and __fish_seen_subcommand_from add" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and __fish_seen_subcommand_from add" -s V -l version -d 'Print version'
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and __fish_seen_subcommand_from show" -l aggregation -d 'Aggregation method to read' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and __fish_seen_subcommand_from show" -l granularity -d 'Only this granularity of the archive policy (e.g. `60`, `1h`)' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and __fish_seen_subcommand_from show" -l start -d 'First timestamp (ISO 8601, epoch seconds, or relative like `-1 hour`)' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and __fish_seen_subcommand_from show" -l stop -d 'Timestamp to stop before (exclusive)' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and __fish_seen_subcommand_from show" -l resample -d 'Regroup the points by a timespan (`1h`, `7d`) or calendar period' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and __fish_seen_subcommand_from show" -l store -d 'The store directory [default: $CARBONARA_STORE, else ./carbonara-data]' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and __fish_seen_subcommand_from show" -s f -l format -d 'Output format of commands that print records' -r -f -a "table\t'An ASCII table'
json\t'JSON, floats and NaN as Gnocchi\'s API writes them'
csv\t'CSV with a header row'
value\t'Bare values: one row per line, separated by spaces'"
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and __fish_seen_subcommand_from show" -s c -l column -d 'Print only this column (or field); repeat for more' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and __fish_seen_subcommand_from show" -l refresh -d 'Process this metric\'s waiting measures first'
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and __fish_seen_subcommand_from show" -s q -l quiet -d 'No progress or summaries on stderr'
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and __fish_seen_subcommand_from show" -s V -l version -d 'Print version'
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and __fish_seen_subcommand_from help" -f -a "add" -d 'Add measures to a metric (processed by the next `process`)'
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and __fish_seen_subcommand_from help" -f -a "show" -d 'Show the aggregates of a metric'
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c carbonara -n "__fish_carbonara_using_subcommand aggregates" -l start -d 'First timestamp (ISO 8601, epoch seconds, or relative like `-1 hour`)' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand aggregates" -l stop -d 'Timestamp to stop before (exclusive)' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand aggregates" -l granularity -d 'Only this granularity [default: every granularity all the metrics\' policies have]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand aggregates" -l needed-overlap -d 'Percentage of the timestamps where every series must have a value' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand aggregates" -l fill -d 'How to fill the timestamps where a series has no value' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand aggregates" -l store -d 'The store directory [default: $CARBONARA_STORE, else ./carbonara-data]' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand aggregates" -s f -l format -d 'Output format of commands that print records' -r -f -a "table\t'An ASCII table'
json\t'JSON, floats and NaN as Gnocchi\'s API writes them'
csv\t'CSV with a header row'
value\t'Bare values: one row per line, separated by spaces'"
complete -c carbonara -n "__fish_carbonara_using_subcommand aggregates" -s c -l column -d 'Print only this column (or field); repeat for more' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand aggregates" -l details -d 'With `-f json`: add the metrics used (`references`), as Gnocchi does'
complete -c carbonara -n "__fish_carbonara_using_subcommand aggregates" -s q -l quiet -d 'No progress or summaries on stderr'
complete -c carbonara -n "__fish_carbonara_using_subcommand aggregates" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c carbonara -n "__fish_carbonara_using_subcommand aggregates" -s V -l version -d 'Print version'
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and not __fish_seen_subcommand_from csv help" -l store -d 'The store directory [default: $CARBONARA_STORE, else ./carbonara-data]' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and not __fish_seen_subcommand_from csv help" -s f -l format -d 'Output format of commands that print records' -r -f -a "table\t'An ASCII table'
json\t'JSON, floats and NaN as Gnocchi\'s API writes them'
csv\t'CSV with a header row'
value\t'Bare values: one row per line, separated by spaces'"
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and not __fish_seen_subcommand_from csv help" -s c -l column -d 'Print only this column (or field); repeat for more' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and not __fish_seen_subcommand_from csv help" -s q -l quiet -d 'No progress or summaries on stderr'
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and not __fish_seen_subcommand_from csv help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and not __fish_seen_subcommand_from csv help" -s V -l version -d 'Print version'
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and not __fish_seen_subcommand_from csv help" -f -a "csv" -d 'CSV rows of timestamp and value, for one metric or a metric column'
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and not __fish_seen_subcommand_from csv help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from csv" -l metric -d 'Every row belongs to this metric (id or name)' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from csv" -l metric-column -d 'Each row names its metric in this column (header name or 1-based index)' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from csv" -l timestamp-column -d 'The timestamp column (header name or 1-based index)' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from csv" -l value-column -d 'The value column (header name or 1-based index)' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from csv" -l delimiter -d 'Field delimiter' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from csv" -l store -d 'The store directory [default: $CARBONARA_STORE, else ./carbonara-data]' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from csv" -s f -l format -d 'Output format of commands that print records' -r -f -a "table\t'An ASCII table'
json\t'JSON, floats and NaN as Gnocchi\'s API writes them'
csv\t'CSV with a header row'
value\t'Bare values: one row per line, separated by spaces'"
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from csv" -s c -l column -d 'Print only this column (or field); repeat for more' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from csv" -l process -d 'Run the aggregation pass after the import'
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from csv" -s q -l quiet -d 'No progress or summaries on stderr'
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from csv" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from csv" -s V -l version -d 'Print version'
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from help" -f -a "csv" -d 'CSV rows of timestamp and value, for one metric or a metric column'
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c carbonara -n "__fish_carbonara_using_subcommand process" -s j -l jobs -d 'Worker threads [default: one per core]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand process" -l store -d 'The store directory [default: $CARBONARA_STORE, else ./carbonara-data]' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand process" -s f -l format -d 'Output format of commands that print records' -r -f -a "table\t'An ASCII table'
json\t'JSON, floats and NaN as Gnocchi\'s API writes them'
csv\t'CSV with a header row'
value\t'Bare values: one row per line, separated by spaces'"
complete -c carbonara -n "__fish_carbonara_using_subcommand process" -s c -l column -d 'Print only this column (or field); repeat for more' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand process" -s q -l quiet -d 'No progress or summaries on stderr'
complete -c carbonara -n "__fish_carbonara_using_subcommand process" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c carbonara -n "__fish_carbonara_using_subcommand process" -s V -l version -d 'Print version'
complete -c carbonara -n "__fish_carbonara_using_subcommand status" -l store -d 'The store directory [default: $CARBONARA_STORE, else ./carbonara-data]' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand status" -s f -l format -d 'Output format of commands that print records' -r -f -a "table\t'An ASCII table'
json\t'JSON, floats and NaN as Gnocchi\'s API writes them'
csv\t'CSV with a header row'
value\t'Bare values: one row per line, separated by spaces'"
complete -c carbonara -n "__fish_carbonara_using_subcommand status" -s c -l column -d 'Print only this column (or field); repeat for more' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand status" -s q -l quiet -d 'No progress or summaries on stderr'
complete -c carbonara -n "__fish_carbonara_using_subcommand status" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c carbonara -n "__fish_carbonara_using_subcommand status" -s V -l version -d 'Print version'
complete -c carbonara -n "__fish_carbonara_using_subcommand generate" -l out -d 'Directory receiving man/ and completions/' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand generate" -l store -d 'The store directory [default: $CARBONARA_STORE, else ./carbonara-data]' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand generate" -s f -l format -d 'Output format of commands that print records' -r -f -a "table\t'An ASCII table'
json\t'JSON, floats and NaN as Gnocchi\'s API writes them'
csv\t'CSV with a header row'
value\t'Bare values: one row per line, separated by spaces'"
complete -c carbonara -n "__fish_carbonara_using_subcommand generate" -s c -l column -d 'Print only this column (or field); repeat for more' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand generate" -s q -l quiet -d 'No progress or summaries on stderr'
complete -c carbonara -n "__fish_carbonara_using_subcommand generate" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c carbonara -n "__fish_carbonara_using_subcommand generate" -s V -l version -d 'Print version'
complete -c carbonara -n "__fish_carbonara_using_subcommand help; and not __fish_seen_subcommand_from init demo archive-policy archive-policy-rule metric measures aggregates ingest process status generate help" -f -a "init" -d 'Create a store, with Gnocchi\'s default archive policies'
complete -c carbonara -n "__fish_carbonara_using_subcommand help; and not __fish_seen_subcommand_from init demo archive-policy archive-policy-rule metric measures aggregates ingest process status generate help" -f -a "demo" -d 'Build a sample store, process it and print what it holds'
complete -c carbonara -n "__fish_carbonara_using_subcommand help; and not __fish_seen_subcommand_from init demo archive-policy archive-policy-rule metric measures aggregates ingest process status generate help" -f -a "archive-policy" -d 'Create, list, show, update and delete archive policies'
complete -c carbonara -n "__fish_carbonara_using_subcommand help; and not __fish_seen_subcommand_from init demo archive-policy archive-policy-rule metric measures aggregates ingest process status generate help" -f -a "archive-policy-rule" -d 'Create, list, show and delete archive-policy rules'
complete -c carbonara -n "__fish_carbonara_using_subcommand help; and not __fish_seen_subcommand_from init demo archive-policy archive-policy-rule metric measures aggregates ingest process status generate help" -f -a "metric" -d 'Create, list, show and delete metrics'
complete -c carbonara -n "__fish_carbonara_using_subcommand help; and not __fish_seen_subcommand_from init demo archive-policy archive-policy-rule metric measures aggregates ingest process status generate help" -f -a "measures" -d 'Add measures to a metric and read its aggregates'
complete -c carbonara -n "__fish_carbonara_using_subcommand help; and not __fish_seen_subcommand_from init demo archive-policy archive-policy-rule metric measures aggregates ingest process status generate help" -f -a "aggregates" -d 'Evaluate operations over the aggregates of several metrics'
complete -c carbonara -n "__fish_carbonara_using_subcommand help; and not __fish_seen_subcommand_from init demo archive-policy archive-policy-rule metric measures aggregates ingest process status generate help" -f -a "ingest" -d 'Import measures from files'
complete -c carbonara -n "__fish_carbonara_using_subcommand help; and not __fish_seen_subcommand_from init demo archive-policy archive-policy-rule metric measures aggregates ingest process status generate help" -f -a "process" -d 'Run the aggregation pass (Gnocchi\'s metricd) over waiting measures'
complete -c carbonara -n "__fish_carbonara_using_subcommand help; and not __fish_seen_subcommand_from init demo archive-policy archive-policy-rule metric measures aggregates ingest process status generate help" -f -a "status" -d 'Show the measures waiting to be processed'
complete -c carbonara -n "__fish_carbonara_using_subcommand help; and not __fish_seen_subcommand_from init demo archive-policy archive-policy-rule metric measures aggregates ingest process status generate help" -f -a "generate" -d 'Write the man pages and shell completions'
complete -c carbonara -n "__fish_carbonara_using_subcommand help; and not __fish_seen_subcommand_from init demo archive-policy archive-policy-rule metric measures aggregates ingest process status generate help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c carbonara -n "__fish_carbonara_using_subcommand help; and __fish_seen_subcommand_from archive-policy" -f -a "create" -d 'Create an archive policy'
complete -c carbonara -n "__fish_carbonara_using_subcommand help; and __fish_seen_subcommand_from archive-policy" -f -a "list" -d 'List the archive policies'
complete -c carbonara -n "__fish_carbonara_using_subcommand help; and __fish_seen_subcommand_from archive-policy" -f -a "show" -d 'Show an archive policy'
complete -c carbonara -n "__fish_carbonara_using_subcommand help; and __fish_seen_subcommand_from archive-policy" -f -a "update" -d 'Change the points or timespans of an archive policy, or its back window'
complete -c carbonara -n "__fish_carbonara_using_subcommand help; and __fish_seen_subcommand_from archive-policy" -f -a "delete" -d 'Delete an archive policy no metric or rule uses'
complete -c carbonara -n "__fish_carbonara_using_subcommand help; and __fish_seen_subcommand_from archive-policy-rule" -f -a "create" -d 'Create a rule'
complete -c carbonara -n "__fish_carbonara_using_subcommand help; and __fish_seen_subcommand_from archive-policy-rule" -f -a "list" -d 'List the rules, in matching order'
complete -c carbonara -n "__fish_carbonara_using_subcommand help; and __fish_seen_subcommand_from archive-policy-rule" -f -a "show" -d 'Show a rule'
complete -c carbonara -n "__fish_carbonara_using_subcommand help; and __fish_seen_subcommand_from archive-policy-rule" -f -a "delete" -d 'Delete a rule'
complete -c carbonara -n "__fish_carbonara_using_subcommand help; and __fish_seen_subcommand_from metric" -f -a "create" -d 'Create a metric'
complete -c carbonara -n "__fish_carbonara_using_subcommand help; and __fish_seen_subcommand_from metric" -f -a "list" -d 'List the metrics'
complete -c carbonara -n "__fish_carbonara_using_subcommand help; and __fish_seen_subcommand_from metric" -f -a "show" -d 'Show a metric'
complete -c carbonara -n "__fish_carbonara_using_subcommand help; and __fish_seen_subcommand_from metric" -f -a "delete" -d 'Delete metrics; their data is removed by the next `process`'
complete -c carbonara -n "__fish_carbonara_using_subcommand help; and __fish_seen_subcommand_from measures" -f -a "add" -d 'Add measures to a metric (processed by the next `process`)'
complete -c carbonara -n "__fish_carbonara_using_subcommand help; and __fish_seen_subcommand_from measures" -f -a "show" -d 'Show the aggregates of a metric'
complete -c carbonara -n "__fish_carbonara_using_subcommand help; and __fish_seen_subcommand_from ingest" -f -a "csv" -d 'CSV rows of timestamp and value, for one metric or a metric column'
