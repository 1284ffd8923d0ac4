# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_carbonara_global_optspecs
    string join \n store= gnocchi-conf= user= q/quiet h/help V/version
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
complete -c carbonara -n "__fish_carbonara_needs_command" -l gnocchi-conf -d 'Work on the Gnocchi deployment this gnocchi.conf describes (its PostgreSQL indexer, file or Redis storage and incoming) instead of a store directory' -r -F
complete -c carbonara -n "__fish_carbonara_needs_command" -l user -d 'Act as this user: the creator recorded on what the command makes and whose names it resolves, as gnocchi-api records it for that user (`USER` with basic authentication, `USER:PROJECT` with Keystone) [default: admin]' -r
complete -c carbonara -n "__fish_carbonara_needs_command" -s q -l quiet -d 'No progress or summaries on stderr'
complete -c carbonara -n "__fish_carbonara_needs_command" -s h -l help -d 'Print help'
complete -c carbonara -n "__fish_carbonara_needs_command" -s V -l version -d 'Print version'
complete -c carbonara -n "__fish_carbonara_needs_command" -f -a "init" -d 'Create a store, with Gnocchi\'s default archive policies'
complete -c carbonara -n "__fish_carbonara_needs_command" -f -a "demo" -d 'Build a sample store, process it and print what it holds'
complete -c carbonara -n "__fish_carbonara_needs_command" -f -a "archive-policy" -d 'Create, list, show, update and delete archive policies'
complete -c carbonara -n "__fish_carbonara_needs_command" -f -a "archive-policy-rule" -d 'Create, list, show and delete archive-policy rules'
complete -c carbonara -n "__fish_carbonara_needs_command" -f -a "metric" -d 'Create, list, show, search and delete metrics'
complete -c carbonara -n "__fish_carbonara_needs_command" -f -a "resource-type" -d 'Create, list, show, update and delete resource types'
complete -c carbonara -n "__fish_carbonara_needs_command" -f -a "resource" -d 'Create, list, show, update, search and delete resources'
complete -c carbonara -n "__fish_carbonara_needs_command" -f -a "measures" -d 'Add measures to a metric and read its aggregates'
complete -c carbonara -n "__fish_carbonara_needs_command" -f -a "aggregates" -d 'Evaluate operations over the aggregates of several metrics'
complete -c carbonara -n "__fish_carbonara_needs_command" -f -a "top" -d 'Rank metrics, or the resources of a type by one of their metrics, by one value each'
complete -c carbonara -n "__fish_carbonara_needs_command" -f -a "plot" -d 'Draw metrics\' aggregates as a line chart in an SVG or PNG file'
complete -c carbonara -n "__fish_carbonara_needs_command" -f -a "ingest" -d 'Import measures from files'
complete -c carbonara -n "__fish_carbonara_needs_command" -f -a "process" -d 'Run the aggregation pass (Gnocchi\'s metricd) over waiting measures'
complete -c carbonara -n "__fish_carbonara_needs_command" -f -a "metricd" -d 'Run aggregation passes until stopped, as gnocchi-metricd does'
complete -c carbonara -n "__fish_carbonara_needs_command" -f -a "status" -d 'Show the measures waiting to be processed'
complete -c carbonara -n "__fish_carbonara_needs_command" -f -a "dump" -d 'Decode archive files: a metric\'s, a Gnocchi directory\'s or one file'
complete -c carbonara -n "__fish_carbonara_needs_command" -f -a "janitor" -d 'Remove the data of deleted metrics (the next `process` does it too)'
complete -c carbonara -n "__fish_carbonara_needs_command" -f -a "verify" -d 'Check archive files, sacks and index; `--repair` quarantines what is bad'
complete -c carbonara -n "__fish_carbonara_needs_command" -f -a "info" -d 'What a metric\'s archive or the whole store holds, and its cost on disk'
complete -c carbonara -n "__fish_carbonara_needs_command" -f -a "sacks" -d 'Show or change the number of sacks (gnocchi-change-sack-size)'
complete -c carbonara -n "__fish_carbonara_needs_command" -f -a "max-backlog" -d 'Show or change the backlog limit past which ingest, measures add and serve refuse writes'
complete -c carbonara -n "__fish_carbonara_needs_command" -f -a "upgrade" -d 'Bring a store written by an older carbonara to the current format'
complete -c carbonara -n "__fish_carbonara_needs_command" -f -a "import-gnocchi" -d 'Adopt the metrics of a Gnocchi file-storage directory, ids kept'
complete -c carbonara -n "__fish_carbonara_needs_command" -f -a "serve" -d 'Serve Gnocchi\'s REST API over the store, aggregating in the background'
complete -c carbonara -n "__fish_carbonara_needs_command" -f -a "statsd" -d 'Receive statsd metrics over UDP and TCP and flush them into the store (gnocchi-statsd)'
complete -c carbonara -n "__fish_carbonara_needs_command" -f -a "generate" -d 'Write the man pages and shell completions'
complete -c carbonara -n "__fish_carbonara_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c carbonara -n "__fish_carbonara_using_subcommand init" -l sacks -d 'Number of sacks (incoming queues), 1 to 65535 [default: 128, or what a Gnocchi incoming directory has]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand init" -l index -d 'Keep the index in a Gnocchi deployment\'s PostgreSQL database (postgresql://USER:PASSWORD@HOST:PORT/DB), in Gnocchi 4.7\'s schema; an empty database gets that schema' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand init" -l storage -d 'Keep the archives in a directory of Gnocchi\'s file storage driver (file:///DIR, its `file_basepath`) or in its Redis driver\'s hashes (redis://[:PASSWORD@]HOST:PORT[?db=N], its `redis_url`)' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand init" -l incoming -d 'Keep the incoming measures in a directory of Gnocchi\'s file incoming driver (file:///DIR, its `file_basepath`) or in its Redis driver\'s lists (redis://[:PASSWORD@]HOST:PORT[?db=N], its `redis_url`)' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand init" -l store -d 'The store directory [default: $CARBONARA_STORE, else ./carbonara-data]' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand init" -l gnocchi-conf -d 'Work on the Gnocchi deployment this gnocchi.conf describes (its PostgreSQL indexer, file or Redis storage and incoming) instead of a store directory' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand init" -l user -d 'Act as this user: the creator recorded on what the command makes and whose names it resolves, as gnocchi-api records it for that user (`USER` with basic authentication, `USER:PROJECT` with Keystone) [default: admin]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand init" -l no-archive-policies -d 'Create no archive policies and no rule'
complete -c carbonara -n "__fish_carbonara_using_subcommand init" -s q -l quiet -d 'No progress or summaries on stderr'
complete -c carbonara -n "__fish_carbonara_using_subcommand init" -s h -l help -d 'Print help'
complete -c carbonara -n "__fish_carbonara_using_subcommand init" -s V -l version -d 'Print version'
complete -c carbonara -n "__fish_carbonara_using_subcommand demo" -l keep -d 'Build the sample store here and keep it (default: a temporary store, removed at the end)' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand demo" -s f -l format -d 'Output format' -r -f -a "table\t'An ASCII table'
json\t'JSON, floats and NaN as Gnocchi\'s API writes them'
csv\t'CSV with a header row'
value\t'Bare values: one row per line, separated by spaces'
yaml\t'YAML, keys sorted (PyYAML\'s `safe_dump`, as cliff)'"
complete -c carbonara -n "__fish_carbonara_using_subcommand demo" -s c -l column -d 'Print only this column (or field); repeat for more' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand demo" -l sort-column -d 'Sort listed rows by this column; repeat for more (first one first)' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand demo" -l store -d 'The store directory [default: $CARBONARA_STORE, else ./carbonara-data]' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand demo" -l gnocchi-conf -d 'Work on the Gnocchi deployment this gnocchi.conf describes (its PostgreSQL indexer, file or Redis storage and incoming) instead of a store directory' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand demo" -l user -d 'Act as this user: the creator recorded on what the command makes and whose names it resolves, as gnocchi-api records it for that user (`USER` with basic authentication, `USER:PROJECT` with Keystone) [default: admin]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand demo" -l sort-ascending -d 'Sort the rows in ascending order (the default)'
complete -c carbonara -n "__fish_carbonara_using_subcommand demo" -l sort-descending -d 'Sort the rows in descending order'
complete -c carbonara -n "__fish_carbonara_using_subcommand demo" -s q -l quiet -d 'No progress or summaries on stderr'
complete -c carbonara -n "__fish_carbonara_using_subcommand demo" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c carbonara -n "__fish_carbonara_using_subcommand demo" -s V -l version -d 'Print version'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and not __fish_seen_subcommand_from create list show update delete estimate help" -l store -d 'The store directory [default: $CARBONARA_STORE, else ./carbonara-data]' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and not __fish_seen_subcommand_from create list show update delete estimate help" -l gnocchi-conf -d 'Work on the Gnocchi deployment this gnocchi.conf describes (its PostgreSQL indexer, file or Redis storage and incoming) instead of a store directory' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and not __fish_seen_subcommand_from create list show update delete estimate help" -l user -d 'Act as this user: the creator recorded on what the command makes and whose names it resolves, as gnocchi-api records it for that user (`USER` with basic authentication, `USER:PROJECT` with Keystone) [default: admin]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and not __fish_seen_subcommand_from create list show update delete estimate help" -s q -l quiet -d 'No progress or summaries on stderr'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and not __fish_seen_subcommand_from create list show update delete estimate help" -s h -l help -d 'Print help'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and not __fish_seen_subcommand_from create list show update delete estimate help" -s V -l version -d 'Print version'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and not __fish_seen_subcommand_from create list show update delete estimate help" -f -a "create" -d 'Create an archive policy'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and not __fish_seen_subcommand_from create list show update delete estimate help" -f -a "list" -d 'List the archive policies'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and not __fish_seen_subcommand_from create list show update delete estimate help" -f -a "show" -d 'Show an archive policy'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and not __fish_seen_subcommand_from create list show update delete estimate help" -f -a "update" -d 'Change the points or timespans of an archive policy, or its back window'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and not __fish_seen_subcommand_from create list show update delete estimate help" -f -a "delete" -d 'Delete an archive policy no metric or rule uses'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and not __fish_seen_subcommand_from create list show update delete estimate help" -f -a "estimate" -d 'Estimate the disk one metric needs under a policy, typical and worst case'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and not __fish_seen_subcommand_from create list show update delete estimate help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from create" -s d -l definition -d 'Two of granularity, points and timespan, e.g. `granularity:1m,timespan:7d`; repeat for each granularity' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from create" -s b -l back-window -d 'Extra blocks of raw points kept for late measures' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from create" -s m -l aggregation-method -d 'Aggregation method (`mean`, `95pct`, `rate:max`, `*`, `+m`, `-m`); repeat for more [default: mean min max sum std count]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from create" -s f -l format -d 'Output format' -r -f -a "table\t'An ASCII table'
json\t'JSON, floats and NaN as Gnocchi\'s API writes them'
csv\t'CSV with a header row'
value\t'Bare values: one row per line, separated by spaces'
yaml\t'YAML, keys sorted (PyYAML\'s `safe_dump`, as cliff)'"
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from create" -s c -l column -d 'Print only this column (or field); repeat for more' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from create" -l sort-column -d 'Sort listed rows by this column; repeat for more (first one first)' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from create" -l store -d 'The store directory [default: $CARBONARA_STORE, else ./carbonara-data]' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from create" -l gnocchi-conf -d 'Work on the Gnocchi deployment this gnocchi.conf describes (its PostgreSQL indexer, file or Redis storage and incoming) instead of a store directory' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from create" -l user -d 'Act as this user: the creator recorded on what the command makes and whose names it resolves, as gnocchi-api records it for that user (`USER` with basic authentication, `USER:PROJECT` with Keystone) [default: admin]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from create" -l sort-ascending -d 'Sort the rows in ascending order (the default)'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from create" -l sort-descending -d 'Sort the rows in descending order'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from create" -s q -l quiet -d 'No progress or summaries on stderr'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from create" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from create" -s V -l version -d 'Print version'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from list" -s f -l format -d 'Output format' -r -f -a "table\t'An ASCII table'
json\t'JSON, floats and NaN as Gnocchi\'s API writes them'
csv\t'CSV with a header row'
value\t'Bare values: one row per line, separated by spaces'
yaml\t'YAML, keys sorted (PyYAML\'s `safe_dump`, as cliff)'"
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from list" -s c -l column -d 'Print only this column (or field); repeat for more' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from list" -l sort-column -d 'Sort listed rows by this column; repeat for more (first one first)' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from list" -l store -d 'The store directory [default: $CARBONARA_STORE, else ./carbonara-data]' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from list" -l gnocchi-conf -d 'Work on the Gnocchi deployment this gnocchi.conf describes (its PostgreSQL indexer, file or Redis storage and incoming) instead of a store directory' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from list" -l user -d 'Act as this user: the creator recorded on what the command makes and whose names it resolves, as gnocchi-api records it for that user (`USER` with basic authentication, `USER:PROJECT` with Keystone) [default: admin]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from list" -l sort-ascending -d 'Sort the rows in ascending order (the default)'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from list" -l sort-descending -d 'Sort the rows in descending order'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from list" -s q -l quiet -d 'No progress or summaries on stderr'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from show" -s f -l format -d 'Output format' -r -f -a "table\t'An ASCII table'
json\t'JSON, floats and NaN as Gnocchi\'s API writes them'
csv\t'CSV with a header row'
value\t'Bare values: one row per line, separated by spaces'
yaml\t'YAML, keys sorted (PyYAML\'s `safe_dump`, as cliff)'"
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from show" -s c -l column -d 'Print only this column (or field); repeat for more' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from show" -l sort-column -d 'Sort listed rows by this column; repeat for more (first one first)' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from show" -l store -d 'The store directory [default: $CARBONARA_STORE, else ./carbonara-data]' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from show" -l gnocchi-conf -d 'Work on the Gnocchi deployment this gnocchi.conf describes (its PostgreSQL indexer, file or Redis storage and incoming) instead of a store directory' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from show" -l user -d 'Act as this user: the creator recorded on what the command makes and whose names it resolves, as gnocchi-api records it for that user (`USER` with basic authentication, `USER:PROJECT` with Keystone) [default: admin]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from show" -l sort-ascending -d 'Sort the rows in ascending order (the default)'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from show" -l sort-descending -d 'Sort the rows in descending order'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from show" -s q -l quiet -d 'No progress or summaries on stderr'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from show" -s V -l version -d 'Print version'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from update" -s d -l definition -d 'The new definitions, with the same granularities as before' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from update" -s b -l back-window -d 'New back window' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from update" -s f -l format -d 'Output format' -r -f -a "table\t'An ASCII table'
json\t'JSON, floats and NaN as Gnocchi\'s API writes them'
csv\t'CSV with a header row'
value\t'Bare values: one row per line, separated by spaces'
yaml\t'YAML, keys sorted (PyYAML\'s `safe_dump`, as cliff)'"
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from update" -s c -l column -d 'Print only this column (or field); repeat for more' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from update" -l sort-column -d 'Sort listed rows by this column; repeat for more (first one first)' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from update" -l store -d 'The store directory [default: $CARBONARA_STORE, else ./carbonara-data]' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from update" -l gnocchi-conf -d 'Work on the Gnocchi deployment this gnocchi.conf describes (its PostgreSQL indexer, file or Redis storage and incoming) instead of a store directory' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from update" -l user -d 'Act as this user: the creator recorded on what the command makes and whose names it resolves, as gnocchi-api records it for that user (`USER` with basic authentication, `USER:PROJECT` with Keystone) [default: admin]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from update" -l sort-ascending -d 'Sort the rows in ascending order (the default)'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from update" -l sort-descending -d 'Sort the rows in descending order'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from update" -s q -l quiet -d 'No progress or summaries on stderr'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from update" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from update" -s V -l version -d 'Print version'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from delete" -l store -d 'The store directory [default: $CARBONARA_STORE, else ./carbonara-data]' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from delete" -l gnocchi-conf -d 'Work on the Gnocchi deployment this gnocchi.conf describes (its PostgreSQL indexer, file or Redis storage and incoming) instead of a store directory' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from delete" -l user -d 'Act as this user: the creator recorded on what the command makes and whose names it resolves, as gnocchi-api records it for that user (`USER` with basic authentication, `USER:PROJECT` with Keystone) [default: admin]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from delete" -s q -l quiet -d 'No progress or summaries on stderr'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from delete" -s h -l help -d 'Print help'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from delete" -s V -l version -d 'Print version'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from estimate" -s d -l definition -d 'Two of granularity, points and timespan, as for `create`; repeat for each granularity' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from estimate" -s b -l back-window -d 'Extra blocks of raw points kept for late measures' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from estimate" -s m -l aggregation-method -d 'Aggregation method, as for `create`; repeat for more [default: mean min max sum std count]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from estimate" -l interval -d 'How often measures arrive, for the raw points kept [default: the finest granularity]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from estimate" -s f -l format -d 'Output format' -r -f -a "table\t'An ASCII table'
json\t'JSON, floats and NaN as Gnocchi\'s API writes them'
csv\t'CSV with a header row'
value\t'Bare values: one row per line, separated by spaces'
yaml\t'YAML, keys sorted (PyYAML\'s `safe_dump`, as cliff)'"
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from estimate" -s c -l column -d 'Print only this column (or field); repeat for more' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from estimate" -l sort-column -d 'Sort listed rows by this column; repeat for more (first one first)' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from estimate" -l store -d 'The store directory [default: $CARBONARA_STORE, else ./carbonara-data]' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from estimate" -l gnocchi-conf -d 'Work on the Gnocchi deployment this gnocchi.conf describes (its PostgreSQL indexer, file or Redis storage and incoming) instead of a store directory' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from estimate" -l user -d 'Act as this user: the creator recorded on what the command makes and whose names it resolves, as gnocchi-api records it for that user (`USER` with basic authentication, `USER:PROJECT` with Keystone) [default: admin]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from estimate" -l sort-ascending -d 'Sort the rows in ascending order (the default)'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from estimate" -l sort-descending -d 'Sort the rows in descending order'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from estimate" -s q -l quiet -d 'No progress or summaries on stderr'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from estimate" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from estimate" -s V -l version -d 'Print version'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from help" -f -a "create" -d 'Create an archive policy'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from help" -f -a "list" -d 'List the archive policies'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from help" -f -a "show" -d 'Show an archive policy'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from help" -f -a "update" -d 'Change the points or timespans of an archive policy, or its back window'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from help" -f -a "delete" -d 'Delete an archive policy no metric or rule uses'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from help" -f -a "estimate" -d 'Estimate the disk one metric needs under a policy, typical and worst case'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy-rule; and not __fish_seen_subcommand_from create list show delete help" -l store -d 'The store directory [default: $CARBONARA_STORE, else ./carbonara-data]' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy-rule; and not __fish_seen_subcommand_from create list show delete help" -l gnocchi-conf -d 'Work on the Gnocchi deployment this gnocchi.conf describes (its PostgreSQL indexer, file or Redis storage and incoming) instead of a store directory' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy-rule; and not __fish_seen_subcommand_from create list show delete help" -l user -d 'Act as this user: the creator recorded on what the command makes and whose names it resolves, as gnocchi-api records it for that user (`USER` with basic authentication, `USER:PROJECT` with Keystone) [default: admin]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy-rule; and not __fish_seen_subcommand_from create list show delete help" -s q -l quiet -d 'No progress or summaries on stderr'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy-rule; and not __fish_seen_subcommand_from create list show delete help" -s h -l help -d 'Print help'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy-rule; and not __fish_seen_subcommand_from create list show delete help" -s V -l version -d 'Print version'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy-rule; and not __fish_seen_subcommand_from create list show delete help" -f -a "create" -d 'Create a rule'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy-rule; and not __fish_seen_subcommand_from create list show delete help" -f -a "list" -d 'List the rules, in matching order'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy-rule; and not __fish_seen_subcommand_from create list show delete help" -f -a "show" -d 'Show a rule'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy-rule; and not __fish_seen_subcommand_from create list show delete help" -f -a "delete" -d 'Delete a rule'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy-rule; and not __fish_seen_subcommand_from create list show delete help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy-rule; and __fish_seen_subcommand_from create" -s a -l archive-policy-name -d 'Archive policy given to matching metrics' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy-rule; and __fish_seen_subcommand_from create" -s m -l metric-pattern -d 'Shell pattern (`*`, `?`, `[seq]`) matched against metric names' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy-rule; and __fish_seen_subcommand_from create" -s f -l format -d 'Output format' -r -f -a "table\t'An ASCII table'
json\t'JSON, floats and NaN as Gnocchi\'s API writes them'
csv\t'CSV with a header row'
value\t'Bare values: one row per line, separated by spaces'
yaml\t'YAML, keys sorted (PyYAML\'s `safe_dump`, as cliff)'"
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy-rule; and __fish_seen_subcommand_from create" -s c -l column -d 'Print only this column (or field); repeat for more' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy-rule; and __fish_seen_subcommand_from create" -l sort-column -d 'Sort listed rows by this column; repeat for more (first one first)' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy-rule; and __fish_seen_subcommand_from create" -l store -d 'The store directory [default: $CARBONARA_STORE, else ./carbonara-data]' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy-rule; and __fish_seen_subcommand_from create" -l gnocchi-conf -d 'Work on the Gnocchi deployment this gnocchi.conf describes (its PostgreSQL indexer, file or Redis storage and incoming) instead of a store directory' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy-rule; and __fish_seen_subcommand_from create" -l user -d 'Act as this user: the creator recorded on what the command makes and whose names it resolves, as gnocchi-api records it for that user (`USER` with basic authentication, `USER:PROJECT` with Keystone) [default: admin]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy-rule; and __fish_seen_subcommand_from create" -l sort-ascending -d 'Sort the rows in ascending order (the default)'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy-rule; and __fish_seen_subcommand_from create" -l sort-descending -d 'Sort the rows in descending order'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy-rule; and __fish_seen_subcommand_from create" -s q -l quiet -d 'No progress or summaries on stderr'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy-rule; and __fish_seen_subcommand_from create" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy-rule; and __fish_seen_subcommand_from create" -s V -l version -d 'Print version'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy-rule; and __fish_seen_subcommand_from list" -s f -l format -d 'Output format' -r -f -a "table\t'An ASCII table'
json\t'JSON, floats and NaN as Gnocchi\'s API writes them'
csv\t'CSV with a header row'
value\t'Bare values: one row per line, separated by spaces'
yaml\t'YAML, keys sorted (PyYAML\'s `safe_dump`, as cliff)'"
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy-rule; and __fish_seen_subcommand_from list" -s c -l column -d 'Print only this column (or field); repeat for more' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy-rule; and __fish_seen_subcommand_from list" -l sort-column -d 'Sort listed rows by this column; repeat for more (first one first)' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy-rule; and __fish_seen_subcommand_from list" -l store -d 'The store directory [default: $CARBONARA_STORE, else ./carbonara-data]' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy-rule; and __fish_seen_subcommand_from list" -l gnocchi-conf -d 'Work on the Gnocchi deployment this gnocchi.conf describes (its PostgreSQL indexer, file or Redis storage and incoming) instead of a store directory' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy-rule; and __fish_seen_subcommand_from list" -l user -d 'Act as this user: the creator recorded on what the command makes and whose names it resolves, as gnocchi-api records it for that user (`USER` with basic authentication, `USER:PROJECT` with Keystone) [default: admin]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy-rule; and __fish_seen_subcommand_from list" -l sort-ascending -d 'Sort the rows in ascending order (the default)'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy-rule; and __fish_seen_subcommand_from list" -l sort-descending -d 'Sort the rows in descending order'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy-rule; and __fish_seen_subcommand_from list" -s q -l quiet -d 'No progress or summaries on stderr'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy-rule; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy-rule; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy-rule; and __fish_seen_subcommand_from show" -s f -l format -d 'Output format' -r -f -a "table\t'An ASCII table'
json\t'JSON, floats and NaN as Gnocchi\'s API writes them'
csv\t'CSV with a header row'
value\t'Bare values: one row per line, separated by spaces'
yaml\t'YAML, keys sorted (PyYAML\'s `safe_dump`, as cliff)'"
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy-rule; and __fish_seen_subcommand_from show" -s c -l column -d 'Print only this column (or field); repeat for more' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy-rule; and __fish_seen_subcommand_from show" -l sort-column -d 'Sort listed rows by this column; repeat for more (first one first)' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy-rule; and __fish_seen_subcommand_from show" -l store -d 'The store directory [default: $CARBONARA_STORE, else ./carbonara-data]' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy-rule; and __fish_seen_subcommand_from show" -l gnocchi-conf -d 'Work on the Gnocchi deployment this gnocchi.conf describes (its PostgreSQL indexer, file or Redis storage and incoming) instead of a store directory' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy-rule; and __fish_seen_subcommand_from show" -l user -d 'Act as this user: the creator recorded on what the command makes and whose names it resolves, as gnocchi-api records it for that user (`USER` with basic authentication, `USER:PROJECT` with Keystone) [default: admin]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy-rule; and __fish_seen_subcommand_from show" -l sort-ascending -d 'Sort the rows in ascending order (the default)'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy-rule; and __fish_seen_subcommand_from show" -l sort-descending -d 'Sort the rows in descending order'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy-rule; and __fish_seen_subcommand_from show" -s q -l quiet -d 'No progress or summaries on stderr'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy-rule; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy-rule; and __fish_seen_subcommand_from show" -s V -l version -d 'Print version'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy-rule; and __fish_seen_subcommand_from delete" -l store -d 'The store directory [default: $CARBONARA_STORE, else ./carbonara-data]' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy-rule; and __fish_seen_subcommand_from delete" -l gnocchi-conf -d 'Work on the Gnocchi deployment this gnocchi.conf describes (its PostgreSQL indexer, file or Redis storage and incoming) instead of a store directory' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy-rule; and __fish_seen_subcommand_from delete" -l user -d 'Act as this user: the creator recorded on what the command makes and whose names it resolves, as gnocchi-api records it for that user (`USER` with basic authentication, `USER:PROJECT` with Keystone) [default: admin]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy-rule; and __fish_seen_subcommand_from delete" -s q -l quiet -d 'No progress or summaries on stderr'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy-rule; and __fish_seen_subcommand_from delete" -s h -l help -d 'Print help'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy-rule; and __fish_seen_subcommand_from delete" -s V -l version -d 'Print version'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy-rule; and __fish_seen_subcommand_from help" -f -a "create" -d 'Create a rule'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy-rule; and __fish_seen_subcommand_from help" -f -a "list" -d 'List the rules, in matching order'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy-rule; and __fish_seen_subcommand_from help" -f -a "show" -d 'Show a rule'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy-rule; and __fish_seen_subcommand_from help" -f -a "delete" -d 'Delete a rule'
complete -c carbonara -n "__fish_carbonara_using_subcommand archive-policy-rule; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and not __fish_seen_subcommand_from create list show delete update search help" -l store -d 'The store directory [default: $CARBONARA_STORE, else ./carbonara-data]' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and not __fish_seen_subcommand_from create list show delete update search help" -l gnocchi-conf -d 'Work on the Gnocchi deployment this gnocchi.conf describes (its PostgreSQL indexer, file or Redis storage and incoming) instead of a store directory' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and not __fish_seen_subcommand_from create list show delete update search help" -l user -d 'Act as this user: the creator recorded on what the command makes and whose names it resolves, as gnocchi-api records it for that user (`USER` with basic authentication, `USER:PROJECT` with Keystone) [default: admin]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and not __fish_seen_subcommand_from create list show delete update search help" -s q -l quiet -d 'No progress or summaries on stderr'
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and not __fish_seen_subcommand_from create list show delete update search help" -s h -l help -d 'Print help'
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and not __fish_seen_subcommand_from create list show delete update search help" -s V -l version -d 'Print version'
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and not __fish_seen_subcommand_from create list show delete update search help" -f -a "create" -d 'Create a metric'
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and not __fish_seen_subcommand_from create list show delete update search help" -f -a "list" -d 'List the metrics'
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and not __fish_seen_subcommand_from create list show delete update search help" -f -a "show" -d 'Show a metric'
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and not __fish_seen_subcommand_from create list show delete update search help" -f -a "delete" -d 'Delete metrics; their data is removed by the next `process`'
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and not __fish_seen_subcommand_from create list show delete update search help" -f -a "update" -d 'Move a metric to another archive policy, rewriting its archive with its history'
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and not __fish_seen_subcommand_from create list show delete update search help" -f -a "search" -d 'Find the aggregates whose value matches a query (Gnocchi\'s measure value search), e.g. `{"and": [{">=": [{"+": 23}, 50]}, {"!=": 55}]}`'
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and not __fish_seen_subcommand_from create list show delete update search help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from create" -s a -l archive-policy-name -d 'Archive policy [default: the first archive-policy rule matching the name]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from create" -s u -l unit -d 'Unit of the measures' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from create" -s r -l resource-id -d 'Id of the resource the metric belongs to (the name must then be unique on it)' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from create" -s f -l format -d 'Output format' -r -f -a "table\t'An ASCII table'
json\t'JSON, floats and NaN as Gnocchi\'s API writes them'
csv\t'CSV with a header row'
value\t'Bare values: one row per line, separated by spaces'
yaml\t'YAML, keys sorted (PyYAML\'s `safe_dump`, as cliff)'"
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from create" -s c -l column -d 'Print only this column (or field); repeat for more' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from create" -l sort-column -d 'Sort listed rows by this column; repeat for more (first one first)' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from create" -l store -d 'The store directory [default: $CARBONARA_STORE, else ./carbonara-data]' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from create" -l gnocchi-conf -d 'Work on the Gnocchi deployment this gnocchi.conf describes (its PostgreSQL indexer, file or Redis storage and incoming) instead of a store directory' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from create" -l user -d 'Act as this user: the creator recorded on what the command makes and whose names it resolves, as gnocchi-api records it for that user (`USER` with basic authentication, `USER:PROJECT` with Keystone) [default: admin]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from create" -l sort-ascending -d 'Sort the rows in ascending order (the default)'
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from create" -l sort-descending -d 'Sort the rows in descending order'
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from create" -s q -l quiet -d 'No progress or summaries on stderr'
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from create" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from create" -s V -l version -d 'Print version'
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from list" -s r -l resource-id -d 'Only the metrics of this resource' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from list" -l limit -d 'Return at most this many items' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from list" -l marker -d 'Last item of the previous page (an id; `ID@REVISION` for histories): list what follows it' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from list" -l sort -d 'Sort key and direction, e.g. `started_at:desc-nullslast`; repeat for more' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from list" -s f -l format -d 'Output format' -r -f -a "table\t'An ASCII table'
json\t'JSON, floats and NaN as Gnocchi\'s API writes them'
csv\t'CSV with a header row'
value\t'Bare values: one row per line, separated by spaces'
yaml\t'YAML, keys sorted (PyYAML\'s `safe_dump`, as cliff)'"
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from list" -s c -l column -d 'Print only this column (or field); repeat for more' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from list" -l sort-column -d 'Sort listed rows by this column; repeat for more (first one first)' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from list" -l store -d 'The store directory [default: $CARBONARA_STORE, else ./carbonara-data]' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from list" -l gnocchi-conf -d 'Work on the Gnocchi deployment this gnocchi.conf describes (its PostgreSQL indexer, file or Redis storage and incoming) instead of a store directory' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from list" -l user -d 'Act as this user: the creator recorded on what the command makes and whose names it resolves, as gnocchi-api records it for that user (`USER` with basic authentication, `USER:PROJECT` with Keystone) [default: admin]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from list" -l sort-ascending -d 'Sort the rows in ascending order (the default)'
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from list" -l sort-descending -d 'Sort the rows in descending order'
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from list" -s q -l quiet -d 'No progress or summaries on stderr'
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from show" -s r -l resource-id -d 'Id of the resource whose metric is named' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from show" -s f -l format -d 'Output format' -r -f -a "table\t'An ASCII table'
json\t'JSON, floats and NaN as Gnocchi\'s API writes them'
csv\t'CSV with a header row'
value\t'Bare values: one row per line, separated by spaces'
yaml\t'YAML, keys sorted (PyYAML\'s `safe_dump`, as cliff)'"
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from show" -s c -l column -d 'Print only this column (or field); repeat for more' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from show" -l sort-column -d 'Sort listed rows by this column; repeat for more (first one first)' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from show" -l store -d 'The store directory [default: $CARBONARA_STORE, else ./carbonara-data]' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from show" -l gnocchi-conf -d 'Work on the Gnocchi deployment this gnocchi.conf describes (its PostgreSQL indexer, file or Redis storage and incoming) instead of a store directory' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from show" -l user -d 'Act as this user: the creator recorded on what the command makes and whose names it resolves, as gnocchi-api records it for that user (`USER` with basic authentication, `USER:PROJECT` with Keystone) [default: admin]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from show" -l sort-ascending -d 'Sort the rows in ascending order (the default)'
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from show" -l sort-descending -d 'Sort the rows in descending order'
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from show" -s q -l quiet -d 'No progress or summaries on stderr'
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from show" -s V -l version -d 'Print version'
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from delete" -s r -l resource-id -d 'Id of the resource whose metrics are named' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from delete" -l store -d 'The store directory [default: $CARBONARA_STORE, else ./carbonara-data]' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from delete" -l gnocchi-conf -d 'Work on the Gnocchi deployment this gnocchi.conf describes (its PostgreSQL indexer, file or Redis storage and incoming) instead of a store directory' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from delete" -l user -d 'Act as this user: the creator recorded on what the command makes and whose names it resolves, as gnocchi-api records it for that user (`USER` with basic authentication, `USER:PROJECT` with Keystone) [default: admin]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from delete" -s q -l quiet -d 'No progress or summaries on stderr'
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from delete" -s h -l help -d 'Print help'
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from delete" -s V -l version -d 'Print version'
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from update" -s r -l resource-id -d 'Id of the resource whose metric is named' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from update" -s a -l archive-policy-name -d 'The archive policy to move the metric to' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from update" -l operation-timeout -d 'How long to wait for a pass that holds the metric\'s sack (`0`: one try) [default: 10s]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from update" -s f -l format -d 'Output format' -r -f -a "table\t'An ASCII table'
json\t'JSON, floats and NaN as Gnocchi\'s API writes them'
csv\t'CSV with a header row'
value\t'Bare values: one row per line, separated by spaces'
yaml\t'YAML, keys sorted (PyYAML\'s `safe_dump`, as cliff)'"
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from update" -s c -l column -d 'Print only this column (or field); repeat for more' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from update" -l sort-column -d 'Sort listed rows by this column; repeat for more (first one first)' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from update" -l store -d 'The store directory [default: $CARBONARA_STORE, else ./carbonara-data]' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from update" -l gnocchi-conf -d 'Work on the Gnocchi deployment this gnocchi.conf describes (its PostgreSQL indexer, file or Redis storage and incoming) instead of a store directory' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from update" -l user -d 'Act as this user: the creator recorded on what the command makes and whose names it resolves, as gnocchi-api records it for that user (`USER` with basic authentication, `USER:PROJECT` with Keystone) [default: admin]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from update" -l dry-run -d 'Print the plan (each aggregation\'s source, exactness and points); only the waiting measures are aggregated'
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from update" -l sort-ascending -d 'Sort the rows in ascending order (the default)'
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from update" -l sort-descending -d 'Sort the rows in descending order'
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from update" -s q -l quiet -d 'No progress or summaries on stderr'
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from update" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from update" -s V -l version -d 'Print version'
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from search" -s m -l metric -d 'Id or name of a metric to search; repeat for more' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from search" -l aggregation -d 'Aggregation method to read' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from search" -l granularity -d 'Granularity to read; repeat for more [default: the first metric\'s]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from search" -l start -d 'First timestamp (ISO 8601, epoch seconds, or relative like `-1 hour`)' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from search" -l stop -d 'Timestamp to stop before (exclusive)' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from search" -s f -l format -d 'Output format' -r -f -a "table\t'An ASCII table'
json\t'JSON, floats and NaN as Gnocchi\'s API writes them'
csv\t'CSV with a header row'
value\t'Bare values: one row per line, separated by spaces'
yaml\t'YAML, keys sorted (PyYAML\'s `safe_dump`, as cliff)'"
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from search" -s c -l column -d 'Print only this column (or field); repeat for more' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from search" -l sort-column -d 'Sort listed rows by this column; repeat for more (first one first)' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from search" -l store -d 'The store directory [default: $CARBONARA_STORE, else ./carbonara-data]' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from search" -l gnocchi-conf -d 'Work on the Gnocchi deployment this gnocchi.conf describes (its PostgreSQL indexer, file or Redis storage and incoming) instead of a store directory' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from search" -l user -d 'Act as this user: the creator recorded on what the command makes and whose names it resolves, as gnocchi-api records it for that user (`USER` with basic authentication, `USER:PROJECT` with Keystone) [default: admin]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from search" -l sort-ascending -d 'Sort the rows in ascending order (the default)'
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from search" -l sort-descending -d 'Sort the rows in descending order'
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from search" -s q -l quiet -d 'No progress or summaries on stderr'
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from search" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from search" -s V -l version -d 'Print version'
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from help" -f -a "create" -d 'Create a metric'
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from help" -f -a "list" -d 'List the metrics'
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from help" -f -a "show" -d 'Show a metric'
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from help" -f -a "delete" -d 'Delete metrics; their data is removed by the next `process`'
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from help" -f -a "update" -d 'Move a metric to another archive policy, rewriting its archive with its history'
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from help" -f -a "search" -d 'Find the aggregates whose value matches a query (Gnocchi\'s measure value search), e.g. `{"and": [{">=": [{"+": 23}, 50]}, {"!=": 55}]}`'
complete -c carbonara -n "__fish_carbonara_using_subcommand metric; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource-type; and not __fish_seen_subcommand_from create list show update delete help" -l store -d 'The store directory [default: $CARBONARA_STORE, else ./carbonara-data]' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand resource-type; and not __fish_seen_subcommand_from create list show update delete help" -l gnocchi-conf -d 'Work on the Gnocchi deployment this gnocchi.conf describes (its PostgreSQL indexer, file or Redis storage and incoming) instead of a store directory' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand resource-type; and not __fish_seen_subcommand_from create list show update delete help" -l user -d 'Act as this user: the creator recorded on what the command makes and whose names it resolves, as gnocchi-api records it for that user (`USER` with basic authentication, `USER:PROJECT` with Keystone) [default: admin]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand resource-type; and not __fish_seen_subcommand_from create list show update delete help" -s q -l quiet -d 'No progress or summaries on stderr'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource-type; and not __fish_seen_subcommand_from create list show update delete help" -s h -l help -d 'Print help'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource-type; and not __fish_seen_subcommand_from create list show update delete help" -s V -l version -d 'Print version'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource-type; and not __fish_seen_subcommand_from create list show update delete help" -f -a "create" -d 'Create a resource type'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource-type; and not __fish_seen_subcommand_from create list show update delete help" -f -a "list" -d 'List the resource types'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource-type; and not __fish_seen_subcommand_from create list show update delete help" -f -a "show" -d 'Show a resource type'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource-type; and not __fish_seen_subcommand_from create list show update delete help" -f -a "update" -d 'Add, change or remove attributes of a resource type'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource-type; and not __fish_seen_subcommand_from create list show update delete help" -f -a "delete" -d 'Delete a resource type no resource uses'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource-type; and not __fish_seen_subcommand_from create list show update delete help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource-type; and __fish_seen_subcommand_from create" -s a -l attribute -d 'An attribute: NAME:TYPE[:REQUIRED][:OPTION=VALUE…], e.g. `display_name:string:true:max_length=255`; TYPE is string, uuid, number, bool or datetime; options min_length, max_length (string), min, max (number); REQUIRED defaults to true; repeat for more' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand resource-type; and __fish_seen_subcommand_from create" -s f -l format -d 'Output format' -r -f -a "table\t'An ASCII table'
json\t'JSON, floats and NaN as Gnocchi\'s API writes them'
csv\t'CSV with a header row'
value\t'Bare values: one row per line, separated by spaces'
yaml\t'YAML, keys sorted (PyYAML\'s `safe_dump`, as cliff)'"
complete -c carbonara -n "__fish_carbonara_using_subcommand resource-type; and __fish_seen_subcommand_from create" -s c -l column -d 'Print only this column (or field); repeat for more' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand resource-type; and __fish_seen_subcommand_from create" -l sort-column -d 'Sort listed rows by this column; repeat for more (first one first)' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand resource-type; and __fish_seen_subcommand_from create" -l store -d 'The store directory [default: $CARBONARA_STORE, else ./carbonara-data]' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand resource-type; and __fish_seen_subcommand_from create" -l gnocchi-conf -d 'Work on the Gnocchi deployment this gnocchi.conf describes (its PostgreSQL indexer, file or Redis storage and incoming) instead of a store directory' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand resource-type; and __fish_seen_subcommand_from create" -l user -d 'Act as this user: the creator recorded on what the command makes and whose names it resolves, as gnocchi-api records it for that user (`USER` with basic authentication, `USER:PROJECT` with Keystone) [default: admin]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand resource-type; and __fish_seen_subcommand_from create" -l sort-ascending -d 'Sort the rows in ascending order (the default)'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource-type; and __fish_seen_subcommand_from create" -l sort-descending -d 'Sort the rows in descending order'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource-type; and __fish_seen_subcommand_from create" -s q -l quiet -d 'No progress or summaries on stderr'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource-type; and __fish_seen_subcommand_from create" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource-type; and __fish_seen_subcommand_from create" -s V -l version -d 'Print version'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource-type; and __fish_seen_subcommand_from list" -s f -l format -d 'Output format' -r -f -a "table\t'An ASCII table'
json\t'JSON, floats and NaN as Gnocchi\'s API writes them'
csv\t'CSV with a header row'
value\t'Bare values: one row per line, separated by spaces'
yaml\t'YAML, keys sorted (PyYAML\'s `safe_dump`, as cliff)'"
complete -c carbonara -n "__fish_carbonara_using_subcommand resource-type; and __fish_seen_subcommand_from list" -s c -l column -d 'Print only this column (or field); repeat for more' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand resource-type; and __fish_seen_subcommand_from list" -l sort-column -d 'Sort listed rows by this column; repeat for more (first one first)' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand resource-type; and __fish_seen_subcommand_from list" -l store -d 'The store directory [default: $CARBONARA_STORE, else ./carbonara-data]' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand resource-type; and __fish_seen_subcommand_from list" -l gnocchi-conf -d 'Work on the Gnocchi deployment this gnocchi.conf describes (its PostgreSQL indexer, file or Redis storage and incoming) instead of a store directory' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand resource-type; and __fish_seen_subcommand_from list" -l user -d 'Act as this user: the creator recorded on what the command makes and whose names it resolves, as gnocchi-api records it for that user (`USER` with basic authentication, `USER:PROJECT` with Keystone) [default: admin]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand resource-type; and __fish_seen_subcommand_from list" -l sort-ascending -d 'Sort the rows in ascending order (the default)'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource-type; and __fish_seen_subcommand_from list" -l sort-descending -d 'Sort the rows in descending order'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource-type; and __fish_seen_subcommand_from list" -s q -l quiet -d 'No progress or summaries on stderr'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource-type; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource-type; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource-type; and __fish_seen_subcommand_from show" -s f -l format -d 'Output format' -r -f -a "table\t'An ASCII table'
json\t'JSON, floats and NaN as Gnocchi\'s API writes them'
csv\t'CSV with a header row'
value\t'Bare values: one row per line, separated by spaces'
yaml\t'YAML, keys sorted (PyYAML\'s `safe_dump`, as cliff)'"
complete -c carbonara -n "__fish_carbonara_using_subcommand resource-type; and __fish_seen_subcommand_from show" -s c -l column -d 'Print only this column (or field); repeat for more' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand resource-type; and __fish_seen_subcommand_from show" -l sort-column -d 'Sort listed rows by this column; repeat for more (first one first)' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand resource-type; and __fish_seen_subcommand_from show" -l store -d 'The store directory [default: $CARBONARA_STORE, else ./carbonara-data]' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand resource-type; and __fish_seen_subcommand_from show" -l gnocchi-conf -d 'Work on the Gnocchi deployment this gnocchi.conf describes (its PostgreSQL indexer, file or Redis storage and incoming) instead of a store directory' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand resource-type; and __fish_seen_subcommand_from show" -l user -d 'Act as this user: the creator recorded on what the command makes and whose names it resolves, as gnocchi-api records it for that user (`USER` with basic authentication, `USER:PROJECT` with Keystone) [default: admin]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand resource-type; and __fish_seen_subcommand_from show" -l sort-ascending -d 'Sort the rows in ascending order (the default)'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource-type; and __fish_seen_subcommand_from show" -l sort-descending -d 'Sort the rows in descending order'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource-type; and __fish_seen_subcommand_from show" -s q -l quiet -d 'No progress or summaries on stderr'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource-type; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource-type; and __fish_seen_subcommand_from show" -s V -l version -d 'Print version'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource-type; and __fish_seen_subcommand_from update" -s a -l attribute -d 'An attribute to add, or to redefine (same type; `required` or bounds change), as for create; existing resources get the `fill=VALUE` option\'s value, which a required attribute needs; repeat for more' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand resource-type; and __fish_seen_subcommand_from update" -s r -l remove-attribute -d 'An attribute to remove, with its values; repeat for more' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand resource-type; and __fish_seen_subcommand_from update" -s f -l format -d 'Output format' -r -f -a "table\t'An ASCII table'
json\t'JSON, floats and NaN as Gnocchi\'s API writes them'
csv\t'CSV with a header row'
value\t'Bare values: one row per line, separated by spaces'
yaml\t'YAML, keys sorted (PyYAML\'s `safe_dump`, as cliff)'"
complete -c carbonara -n "__fish_carbonara_using_subcommand resource-type; and __fish_seen_subcommand_from update" -s c -l column -d 'Print only this column (or field); repeat for more' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand resource-type; and __fish_seen_subcommand_from update" -l sort-column -d 'Sort listed rows by this column; repeat for more (first one first)' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand resource-type; and __fish_seen_subcommand_from update" -l store -d 'The store directory [default: $CARBONARA_STORE, else ./carbonara-data]' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand resource-type; and __fish_seen_subcommand_from update" -l gnocchi-conf -d 'Work on the Gnocchi deployment this gnocchi.conf describes (its PostgreSQL indexer, file or Redis storage and incoming) instead of a store directory' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand resource-type; and __fish_seen_subcommand_from update" -l user -d 'Act as this user: the creator recorded on what the command makes and whose names it resolves, as gnocchi-api records it for that user (`USER` with basic authentication, `USER:PROJECT` with Keystone) [default: admin]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand resource-type; and __fish_seen_subcommand_from update" -l sort-ascending -d 'Sort the rows in ascending order (the default)'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource-type; and __fish_seen_subcommand_from update" -l sort-descending -d 'Sort the rows in descending order'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource-type; and __fish_seen_subcommand_from update" -s q -l quiet -d 'No progress or summaries on stderr'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource-type; and __fish_seen_subcommand_from update" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource-type; and __fish_seen_subcommand_from update" -s V -l version -d 'Print version'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource-type; and __fish_seen_subcommand_from delete" -l store -d 'The store directory [default: $CARBONARA_STORE, else ./carbonara-data]' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand resource-type; and __fish_seen_subcommand_from delete" -l gnocchi-conf -d 'Work on the Gnocchi deployment this gnocchi.conf describes (its PostgreSQL indexer, file or Redis storage and incoming) instead of a store directory' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand resource-type; and __fish_seen_subcommand_from delete" -l user -d 'Act as this user: the creator recorded on what the command makes and whose names it resolves, as gnocchi-api records it for that user (`USER` with basic authentication, `USER:PROJECT` with Keystone) [default: admin]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand resource-type; and __fish_seen_subcommand_from delete" -s q -l quiet -d 'No progress or summaries on stderr'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource-type; and __fish_seen_subcommand_from delete" -s h -l help -d 'Print help'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource-type; and __fish_seen_subcommand_from delete" -s V -l version -d 'Print version'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource-type; and __fish_seen_subcommand_from help" -f -a "create" -d 'Create a resource type'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource-type; and __fish_seen_subcommand_from help" -f -a "list" -d 'List the resource types'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource-type; and __fish_seen_subcommand_from help" -f -a "show" -d 'Show a resource type'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource-type; and __fish_seen_subcommand_from help" -f -a "update" -d 'Add, change or remove attributes of a resource type'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource-type; and __fish_seen_subcommand_from help" -f -a "delete" -d 'Delete a resource type no resource uses'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource-type; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and not __fish_seen_subcommand_from create update show list history search delete batch help" -l store -d 'The store directory [default: $CARBONARA_STORE, else ./carbonara-data]' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and not __fish_seen_subcommand_from create update show list history search delete batch help" -l gnocchi-conf -d 'Work on the Gnocchi deployment this gnocchi.conf describes (its PostgreSQL indexer, file or Redis storage and incoming) instead of a store directory' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and not __fish_seen_subcommand_from create update show list history search delete batch help" -l user -d 'Act as this user: the creator recorded on what the command makes and whose names it resolves, as gnocchi-api records it for that user (`USER` with basic authentication, `USER:PROJECT` with Keystone) [default: admin]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and not __fish_seen_subcommand_from create update show list history search delete batch help" -s q -l quiet -d 'No progress or summaries on stderr'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and not __fish_seen_subcommand_from create update show list history search delete batch help" -s h -l help -d 'Print help'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and not __fish_seen_subcommand_from create update show list history search delete batch help" -s V -l version -d 'Print version'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and not __fish_seen_subcommand_from create update show list history search delete batch help" -f -a "create" -d 'Create a resource'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and not __fish_seen_subcommand_from create update show list history search delete batch help" -f -a "update" -d 'Change a resource (a new revision when a value changes)'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and not __fish_seen_subcommand_from create update show list history search delete batch help" -f -a "show" -d 'Show a resource'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and not __fish_seen_subcommand_from create update show list history search delete batch help" -f -a "list" -d 'List resources'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and not __fish_seen_subcommand_from create update show list history search delete batch help" -f -a "history" -d 'List the revisions of a resource'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and not __fish_seen_subcommand_from create update show list history search delete batch help" -f -a "search" -d 'Search resources with Gnocchi\'s filter syntax, as a string (`host=\'a\' and (cpu>=2 or flavor like \'m1.%\')`) or JSON (`{"=": {"host": "a"}}`)'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and not __fish_seen_subcommand_from create update show list history search delete batch help" -f -a "delete" -d 'Delete a resource; its metrics\' data goes at the next `process`'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and not __fish_seen_subcommand_from create update show list history search delete batch help" -f -a "batch" -d 'Delete many resources'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and not __fish_seen_subcommand_from create update show list history search delete batch help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from create" -s t -l type -d 'Type of the resource' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from create" -s a -l attribute -d 'NAME:VALUE of an attribute of the type (or of user_id, project_id, started_at, ended_at); repeat for more' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from create" -s m -l add-metric -d 'NAME:ID of an existing metric to attach; repeat for more' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from create" -s n -l create-metric -d 'NAME[:POLICY] of a metric to create (policy from the archive-policy rules if absent); repeat for more' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from create" -l user-id -d 'Id of the user the resource belongs to' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from create" -l project-id -d 'Id of the project the resource belongs to' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from create" -l started-at -d 'When the resource started (default: now)' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from create" -l ended-at -d 'When the resource ended' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from create" -s f -l format -d 'Output format' -r -f -a "table\t'An ASCII table'
json\t'JSON, floats and NaN as Gnocchi\'s API writes them'
csv\t'CSV with a header row'
value\t'Bare values: one row per line, separated by spaces'
yaml\t'YAML, keys sorted (PyYAML\'s `safe_dump`, as cliff)'"
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from create" -s c -l column -d 'Print only this column (or field); repeat for more' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from create" -l sort-column -d 'Sort listed rows by this column; repeat for more (first one first)' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from create" -l store -d 'The store directory [default: $CARBONARA_STORE, else ./carbonara-data]' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from create" -l gnocchi-conf -d 'Work on the Gnocchi deployment this gnocchi.conf describes (its PostgreSQL indexer, file or Redis storage and incoming) instead of a store directory' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from create" -l user -d 'Act as this user: the creator recorded on what the command makes and whose names it resolves, as gnocchi-api records it for that user (`USER` with basic authentication, `USER:PROJECT` with Keystone) [default: admin]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from create" -l sort-ascending -d 'Sort the rows in ascending order (the default)'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from create" -l sort-descending -d 'Sort the rows in descending order'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from create" -s q -l quiet -d 'No progress or summaries on stderr'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from create" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from create" -s V -l version -d 'Print version'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from update" -s t -l type -d 'Type of the resource' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from update" -s a -l attribute -d 'NAME:VALUE of an attribute of the type (or of user_id, project_id, started_at, ended_at); repeat for more' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from update" -s m -l add-metric -d 'NAME:ID of an existing metric to attach; repeat for more' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from update" -s n -l create-metric -d 'NAME[:POLICY] of a metric to create (policy from the archive-policy rules if absent); repeat for more' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from update" -l user-id -d 'Id of the user the resource belongs to' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from update" -l project-id -d 'Id of the project the resource belongs to' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from update" -l started-at -d 'When the resource started (default: now)' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from update" -l ended-at -d 'When the resource ended' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from update" -s d -l delete-metric -d 'Name of a metric to detach; repeat for more' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from update" -s f -l format -d 'Output format' -r -f -a "table\t'An ASCII table'
json\t'JSON, floats and NaN as Gnocchi\'s API writes them'
csv\t'CSV with a header row'
value\t'Bare values: one row per line, separated by spaces'
yaml\t'YAML, keys sorted (PyYAML\'s `safe_dump`, as cliff)'"
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from update" -s c -l column -d 'Print only this column (or field); repeat for more' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from update" -l sort-column -d 'Sort listed rows by this column; repeat for more (first one first)' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from update" -l store -d 'The store directory [default: $CARBONARA_STORE, else ./carbonara-data]' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from update" -l gnocchi-conf -d 'Work on the Gnocchi deployment this gnocchi.conf describes (its PostgreSQL indexer, file or Redis storage and incoming) instead of a store directory' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from update" -l user -d 'Act as this user: the creator recorded on what the command makes and whose names it resolves, as gnocchi-api records it for that user (`USER` with basic authentication, `USER:PROJECT` with Keystone) [default: admin]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from update" -l sort-ascending -d 'Sort the rows in ascending order (the default)'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from update" -l sort-descending -d 'Sort the rows in descending order'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from update" -s q -l quiet -d 'No progress or summaries on stderr'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from update" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from update" -s V -l version -d 'Print version'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from show" -s t -l type -d 'Type of the resource (`generic` shows the base fields only)' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from show" -s f -l format -d 'Output format' -r -f -a "table\t'An ASCII table'
json\t'JSON, floats and NaN as Gnocchi\'s API writes them'
csv\t'CSV with a header row'
value\t'Bare values: one row per line, separated by spaces'
yaml\t'YAML, keys sorted (PyYAML\'s `safe_dump`, as cliff)'"
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from show" -s c -l column -d 'Print only this column (or field); repeat for more' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from show" -l sort-column -d 'Sort listed rows by this column; repeat for more (first one first)' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from show" -l store -d 'The store directory [default: $CARBONARA_STORE, else ./carbonara-data]' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from show" -l gnocchi-conf -d 'Work on the Gnocchi deployment this gnocchi.conf describes (its PostgreSQL indexer, file or Redis storage and incoming) instead of a store directory' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from show" -l user -d 'Act as this user: the creator recorded on what the command makes and whose names it resolves, as gnocchi-api records it for that user (`USER` with basic authentication, `USER:PROJECT` with Keystone) [default: admin]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from show" -l sort-ascending -d 'Sort the rows in ascending order (the default)'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from show" -l sort-descending -d 'Sort the rows in descending order'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from show" -s q -l quiet -d 'No progress or summaries on stderr'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from show" -s V -l version -d 'Print version'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from list" -s t -l type -d 'Type of the resources' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from list" -l limit -d 'Return at most this many items' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from list" -l marker -d 'Last item of the previous page (an id; `ID@REVISION` for histories): list what follows it' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from list" -l sort -d 'Sort key and direction, e.g. `started_at:desc-nullslast`; repeat for more' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from list" -s f -l format -d 'Output format' -r -f -a "table\t'An ASCII table'
json\t'JSON, floats and NaN as Gnocchi\'s API writes them'
csv\t'CSV with a header row'
value\t'Bare values: one row per line, separated by spaces'
yaml\t'YAML, keys sorted (PyYAML\'s `safe_dump`, as cliff)'"
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from list" -s c -l column -d 'Print only this column (or field); repeat for more' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from list" -l sort-column -d 'Sort listed rows by this column; repeat for more (first one first)' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from list" -l store -d 'The store directory [default: $CARBONARA_STORE, else ./carbonara-data]' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from list" -l gnocchi-conf -d 'Work on the Gnocchi deployment this gnocchi.conf describes (its PostgreSQL indexer, file or Redis storage and incoming) instead of a store directory' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from list" -l user -d 'Act as this user: the creator recorded on what the command makes and whose names it resolves, as gnocchi-api records it for that user (`USER` with basic authentication, `USER:PROJECT` with Keystone) [default: admin]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from list" -l details -d 'Show the attributes of each resource\'s own type in a `generic` listing'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from list" -l history -d 'Every revision of each resource'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from list" -l sort-ascending -d 'Sort the rows in ascending order (the default)'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from list" -l sort-descending -d 'Sort the rows in descending order'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from list" -s q -l quiet -d 'No progress or summaries on stderr'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from history" -s t -l type -d 'Type of the resources' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from history" -l limit -d 'Return at most this many items' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from history" -l marker -d 'Last item of the previous page (an id; `ID@REVISION` for histories): list what follows it' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from history" -l sort -d 'Sort key and direction, e.g. `started_at:desc-nullslast`; repeat for more' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from history" -s f -l format -d 'Output format' -r -f -a "table\t'An ASCII table'
json\t'JSON, floats and NaN as Gnocchi\'s API writes them'
csv\t'CSV with a header row'
value\t'Bare values: one row per line, separated by spaces'
yaml\t'YAML, keys sorted (PyYAML\'s `safe_dump`, as cliff)'"
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from history" -s c -l column -d 'Print only this column (or field); repeat for more' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from history" -l sort-column -d 'Sort listed rows by this column; repeat for more (first one first)' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from history" -l store -d 'The store directory [default: $CARBONARA_STORE, else ./carbonara-data]' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from history" -l gnocchi-conf -d 'Work on the Gnocchi deployment this gnocchi.conf describes (its PostgreSQL indexer, file or Redis storage and incoming) instead of a store directory' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from history" -l user -d 'Act as this user: the creator recorded on what the command makes and whose names it resolves, as gnocchi-api records it for that user (`USER` with basic authentication, `USER:PROJECT` with Keystone) [default: admin]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from history" -l details -d 'Show the attributes of each resource\'s own type in a `generic` listing'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from history" -l sort-ascending -d 'Sort the rows in ascending order (the default)'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from history" -l sort-descending -d 'Sort the rows in descending order'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from history" -s q -l quiet -d 'No progress or summaries on stderr'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from history" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from history" -s V -l version -d 'Print version'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from search" -s t -l type -d 'Type of the resources' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from search" -l limit -d 'Return at most this many items' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from search" -l marker -d 'Last item of the previous page (an id; `ID@REVISION` for histories): list what follows it' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from search" -l sort -d 'Sort key and direction, e.g. `started_at:desc-nullslast`; repeat for more' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from search" -s f -l format -d 'Output format' -r -f -a "table\t'An ASCII table'
json\t'JSON, floats and NaN as Gnocchi\'s API writes them'
csv\t'CSV with a header row'
value\t'Bare values: one row per line, separated by spaces'
yaml\t'YAML, keys sorted (PyYAML\'s `safe_dump`, as cliff)'"
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from search" -s c -l column -d 'Print only this column (or field); repeat for more' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from search" -l sort-column -d 'Sort listed rows by this column; repeat for more (first one first)' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from search" -l store -d 'The store directory [default: $CARBONARA_STORE, else ./carbonara-data]' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from search" -l gnocchi-conf -d 'Work on the Gnocchi deployment this gnocchi.conf describes (its PostgreSQL indexer, file or Redis storage and incoming) instead of a store directory' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from search" -l user -d 'Act as this user: the creator recorded on what the command makes and whose names it resolves, as gnocchi-api records it for that user (`USER` with basic authentication, `USER:PROJECT` with Keystone) [default: admin]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from search" -l details -d 'Show the attributes of each resource\'s own type in a `generic` listing'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from search" -l history -d 'Search past revisions too'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from search" -l sort-ascending -d 'Sort the rows in ascending order (the default)'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from search" -l sort-descending -d 'Sort the rows in descending order'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from search" -s q -l quiet -d 'No progress or summaries on stderr'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from search" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from search" -s V -l version -d 'Print version'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from delete" -l store -d 'The store directory [default: $CARBONARA_STORE, else ./carbonara-data]' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from delete" -l gnocchi-conf -d 'Work on the Gnocchi deployment this gnocchi.conf describes (its PostgreSQL indexer, file or Redis storage and incoming) instead of a store directory' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from delete" -l user -d 'Act as this user: the creator recorded on what the command makes and whose names it resolves, as gnocchi-api records it for that user (`USER` with basic authentication, `USER:PROJECT` with Keystone) [default: admin]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from delete" -s q -l quiet -d 'No progress or summaries on stderr'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from delete" -s h -l help -d 'Print help'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from delete" -s V -l version -d 'Print version'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from batch" -l store -d 'The store directory [default: $CARBONARA_STORE, else ./carbonara-data]' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from batch" -l gnocchi-conf -d 'Work on the Gnocchi deployment this gnocchi.conf describes (its PostgreSQL indexer, file or Redis storage and incoming) instead of a store directory' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from batch" -l user -d 'Act as this user: the creator recorded on what the command makes and whose names it resolves, as gnocchi-api records it for that user (`USER` with basic authentication, `USER:PROJECT` with Keystone) [default: admin]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from batch" -s q -l quiet -d 'No progress or summaries on stderr'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from batch" -s h -l help -d 'Print help'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from batch" -s V -l version -d 'Print version'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from batch" -f -a "delete" -d 'Delete the resources matching a filter'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from batch" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from help" -f -a "create" -d 'Create a resource'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from help" -f -a "update" -d 'Change a resource (a new revision when a value changes)'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from help" -f -a "show" -d 'Show a resource'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from help" -f -a "list" -d 'List resources'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from help" -f -a "history" -d 'List the revisions of a resource'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from help" -f -a "search" -d 'Search resources with Gnocchi\'s filter syntax, as a string (`host=\'a\' and (cpu>=2 or flavor like \'m1.%\')`) or JSON (`{"=": {"host": "a"}}`)'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from help" -f -a "delete" -d 'Delete a resource; its metrics\' data goes at the next `process`'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from help" -f -a "batch" -d 'Delete many resources'
complete -c carbonara -n "__fish_carbonara_using_subcommand resource; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and not __fish_seen_subcommand_from add delete search show help" -l store -d 'The store directory [default: $CARBONARA_STORE, else ./carbonara-data]' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and not __fish_seen_subcommand_from add delete search show help" -l gnocchi-conf -d 'Work on the Gnocchi deployment this gnocchi.conf describes (its PostgreSQL indexer, file or Redis storage and incoming) instead of a store directory' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and not __fish_seen_subcommand_from add delete search show help" -l user -d 'Act as this user: the creator recorded on what the command makes and whose names it resolves, as gnocchi-api records it for that user (`USER` with basic authentication, `USER:PROJECT` with Keystone) [default: admin]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and not __fish_seen_subcommand_from add delete search show help" -s q -l quiet -d 'No progress or summaries on stderr'
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and not __fish_seen_subcommand_from add delete search show help" -s h -l help -d 'Print help'
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and not __fish_seen_subcommand_from add delete search show help" -s V -l version -d 'Print version'
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and not __fish_seen_subcommand_from add delete search show help" -f -a "add" -d 'Add measures to a metric (processed by the next `process`)'
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and not __fish_seen_subcommand_from add delete search show help" -f -a "delete" -d 'Delete the aggregates and raw points of a metric in a time range'
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and not __fish_seen_subcommand_from add delete search show help" -f -a "search" -d 'Find the aggregates whose value matches a query (the same as `metric search`)'
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and not __fish_seen_subcommand_from add delete search show help" -f -a "show" -d 'Show the aggregates of a metric'
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and not __fish_seen_subcommand_from add delete search show help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and __fish_seen_subcommand_from add" -s r -l resource-id -d 'Id of the resource whose metric is named' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and __fish_seen_subcommand_from add" -s m -l measure -d 'A measure as TIMESTAMP@VALUE (ISO 8601, epoch seconds, or relative like `-1 minute`); repeat for more' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and __fish_seen_subcommand_from add" -l store -d 'The store directory [default: $CARBONARA_STORE, else ./carbonara-data]' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and __fish_seen_subcommand_from add" -l gnocchi-conf -d 'Work on the Gnocchi deployment this gnocchi.conf describes (its PostgreSQL indexer, file or Redis storage and incoming) instead of a store directory' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and __fish_seen_subcommand_from add" -l user -d 'Act as this user: the creator recorded on what the command makes and whose names it resolves, as gnocchi-api records it for that user (`USER` with basic authentication, `USER:PROJECT` with Keystone) [default: admin]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and __fish_seen_subcommand_from add" -l force -d 'Store them even when more measures wait than the store\'s backlog limit (`carbonara max-backlog`)'
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and __fish_seen_subcommand_from add" -s q -l quiet -d 'No progress or summaries on stderr'
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and __fish_seen_subcommand_from add" -s h -l help -d 'Print help'
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and __fish_seen_subcommand_from add" -s V -l version -d 'Print version'
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and __fish_seen_subcommand_from delete" -s r -l resource-id -d 'Id of the resource whose metric is named' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and __fish_seen_subcommand_from delete" -l start -d 'First timestamp deleted (ISO 8601, epoch seconds, or relative like `-1 hour`)' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and __fish_seen_subcommand_from delete" -l stop -d 'Timestamp to stop before (exclusive), a multiple of every granularity deleted' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and __fish_seen_subcommand_from delete" -l granularity -d 'Only this granularity of the archive policy (e.g. `60`, `1h`); repeat for more [default: all]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and __fish_seen_subcommand_from delete" -l operation-timeout -d 'How long to wait for a pass that holds the metric\'s sack (`0`: one try) [default: 10s]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and __fish_seen_subcommand_from delete" -s f -l format -d 'Output format' -r -f -a "table\t'An ASCII table'
json\t'JSON, floats and NaN as Gnocchi\'s API writes them'
csv\t'CSV with a header row'
value\t'Bare values: one row per line, separated by spaces'
yaml\t'YAML, keys sorted (PyYAML\'s `safe_dump`, as cliff)'"
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and __fish_seen_subcommand_from delete" -s c -l column -d 'Print only this column (or field); repeat for more' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and __fish_seen_subcommand_from delete" -l sort-column -d 'Sort listed rows by this column; repeat for more (first one first)' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and __fish_seen_subcommand_from delete" -l store -d 'The store directory [default: $CARBONARA_STORE, else ./carbonara-data]' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and __fish_seen_subcommand_from delete" -l gnocchi-conf -d 'Work on the Gnocchi deployment this gnocchi.conf describes (its PostgreSQL indexer, file or Redis storage and incoming) instead of a store directory' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and __fish_seen_subcommand_from delete" -l user -d 'Act as this user: the creator recorded on what the command makes and whose names it resolves, as gnocchi-api records it for that user (`USER` with basic authentication, `USER:PROJECT` with Keystone) [default: admin]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and __fish_seen_subcommand_from delete" -l dry-run -d 'Count what would be deleted, change nothing'
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and __fish_seen_subcommand_from delete" -l sort-ascending -d 'Sort the rows in ascending order (the default)'
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and __fish_seen_subcommand_from delete" -l sort-descending -d 'Sort the rows in descending order'
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and __fish_seen_subcommand_from delete" -s q -l quiet -d 'No progress or summaries on stderr'
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and __fish_seen_subcommand_from delete" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and __fish_seen_subcommand_from delete" -s V -l version -d 'Print version'
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and __fish_seen_subcommand_from search" -s m -l metric -d 'Id or name of a metric to search; repeat for more' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and __fish_seen_subcommand_from search" -l aggregation -d 'Aggregation method to read' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and __fish_seen_subcommand_from search" -l granularity -d 'Granularity to read; repeat for more [default: the first metric\'s]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and __fish_seen_subcommand_from search" -l start -d 'First timestamp (ISO 8601, epoch seconds, or relative like `-1 hour`)' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and __fish_seen_subcommand_from search" -l stop -d 'Timestamp to stop before (exclusive)' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and __fish_seen_subcommand_from search" -s f -l format -d 'Output format' -r -f -a "table\t'An ASCII table'
json\t'JSON, floats and NaN as Gnocchi\'s API writes them'
csv\t'CSV with a header row'
value\t'Bare values: one row per line, separated by spaces'
yaml\t'YAML, keys sorted (PyYAML\'s `safe_dump`, as cliff)'"
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and __fish_seen_subcommand_from search" -s c -l column -d 'Print only this column (or field); repeat for more' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and __fish_seen_subcommand_from search" -l sort-column -d 'Sort listed rows by this column; repeat for more (first one first)' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and __fish_seen_subcommand_from search" -l store -d 'The store directory [default: $CARBONARA_STORE, else ./carbonara-data]' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and __fish_seen_subcommand_from search" -l gnocchi-conf -d 'Work on the Gnocchi deployment this gnocchi.conf describes (its PostgreSQL indexer, file or Redis storage and incoming) instead of a store directory' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and __fish_seen_subcommand_from search" -l user -d 'Act as this user: the creator recorded on what the command makes and whose names it resolves, as gnocchi-api records it for that user (`USER` with basic authentication, `USER:PROJECT` with Keystone) [default: admin]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and __fish_seen_subcommand_from search" -l sort-ascending -d 'Sort the rows in ascending order (the default)'
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and __fish_seen_subcommand_from search" -l sort-descending -d 'Sort the rows in descending order'
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and __fish_seen_subcommand_from search" -s q -l quiet -d 'No progress or summaries on stderr'
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and __fish_seen_subcommand_from search" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and __fish_seen_subcommand_from search" -s V -l version -d 'Print version'
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and __fish_seen_subcommand_from show" -s r -l resource-id -d 'Id of the resource whose metric is named' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and __fish_seen_subcommand_from show" -l aggregation -d 'Aggregation method to read; repeat for more with --plot or in `plot`' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and __fish_seen_subcommand_from show" -l granularity -d 'Only this granularity of the archive policy (e.g. `60`, `1h`)' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and __fish_seen_subcommand_from show" -l start -d 'First timestamp (ISO 8601, epoch seconds, or relative like `-1 hour`)' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and __fish_seen_subcommand_from show" -l stop -d 'Timestamp to stop before (exclusive)' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and __fish_seen_subcommand_from show" -l resample -d 'Regroup the points by a timespan (`1h`, `7d`) or calendar period' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and __fish_seen_subcommand_from show" -l width -d 'Width of the chart in characters' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and __fish_seen_subcommand_from show" -l height -d 'Height of the chart in lines' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and __fish_seen_subcommand_from show" -s f -l format -d 'Output format' -r -f -a "table\t'An ASCII table'
json\t'JSON, floats and NaN as Gnocchi\'s API writes them'
csv\t'CSV with a header row'
value\t'Bare values: one row per line, separated by spaces'
yaml\t'YAML, keys sorted (PyYAML\'s `safe_dump`, as cliff)'"
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and __fish_seen_subcommand_from show" -s c -l column -d 'Print only this column (or field); repeat for more' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and __fish_seen_subcommand_from show" -l sort-column -d 'Sort listed rows by this column; repeat for more (first one first)' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and __fish_seen_subcommand_from show" -l store -d 'The store directory [default: $CARBONARA_STORE, else ./carbonara-data]' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and __fish_seen_subcommand_from show" -l gnocchi-conf -d 'Work on the Gnocchi deployment this gnocchi.conf describes (its PostgreSQL indexer, file or Redis storage and incoming) instead of a store directory' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and __fish_seen_subcommand_from show" -l user -d 'Act as this user: the creator recorded on what the command makes and whose names it resolves, as gnocchi-api records it for that user (`USER` with basic authentication, `USER:PROJECT` with Keystone) [default: admin]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and __fish_seen_subcommand_from show" -l refresh -d 'Process this metric\'s waiting measures first, waiting up to 10 s for a pass that holds its sack'
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and __fish_seen_subcommand_from show" -l plot -d 'Draw the points as a chart in the terminal instead of listing them'
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and __fish_seen_subcommand_from show" -l sort-ascending -d 'Sort the rows in ascending order (the default)'
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and __fish_seen_subcommand_from show" -l sort-descending -d 'Sort the rows in descending order'
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and __fish_seen_subcommand_from show" -s q -l quiet -d 'No progress or summaries on stderr'
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and __fish_seen_subcommand_from show" -s V -l version -d 'Print version'
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and __fish_seen_subcommand_from help" -f -a "add" -d 'Add measures to a metric (processed by the next `process`)'
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and __fish_seen_subcommand_from help" -f -a "delete" -d 'Delete the aggregates and raw points of a metric in a time range'
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and __fish_seen_subcommand_from help" -f -a "search" -d 'Find the aggregates whose value matches a query (the same as `metric search`)'
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and __fish_seen_subcommand_from help" -f -a "show" -d 'Show the aggregates of a metric'
complete -c carbonara -n "__fish_carbonara_using_subcommand measures; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c carbonara -n "__fish_carbonara_using_subcommand aggregates" -l resource-type -d 'Resource mode: metrics are named (with shell patterns) on the resources of this type' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand aggregates" -l groupby -d 'With --resource-type: evaluate the operations per group of resources with equal values of this attribute; repeat for more' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand aggregates" -l start -d 'First timestamp (ISO 8601, epoch seconds, or relative like `-1 hour`)' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand aggregates" -l stop -d 'Timestamp to stop before (exclusive)' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand aggregates" -l granularity -d 'Only this granularity [default: every granularity all the metrics\' policies have]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand aggregates" -l needed-overlap -d 'Percentage of the timestamps where every series must have a value' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand aggregates" -l fill -d 'How to fill the timestamps where a series has no value' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand aggregates" -s f -l format -d 'Output format' -r -f -a "table\t'An ASCII table'
json\t'JSON, floats and NaN as Gnocchi\'s API writes them'
csv\t'CSV with a header row'
value\t'Bare values: one row per line, separated by spaces'
yaml\t'YAML, keys sorted (PyYAML\'s `safe_dump`, as cliff)'"
complete -c carbonara -n "__fish_carbonara_using_subcommand aggregates" -s c -l column -d 'Print only this column (or field); repeat for more' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand aggregates" -l sort-column -d 'Sort listed rows by this column; repeat for more (first one first)' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand aggregates" -l store -d 'The store directory [default: $CARBONARA_STORE, else ./carbonara-data]' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand aggregates" -l gnocchi-conf -d 'Work on the Gnocchi deployment this gnocchi.conf describes (its PostgreSQL indexer, file or Redis storage and incoming) instead of a store directory' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand aggregates" -l user -d 'Act as this user: the creator recorded on what the command makes and whose names it resolves, as gnocchi-api records it for that user (`USER` with basic authentication, `USER:PROJECT` with Keystone) [default: admin]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand aggregates" -l use-history -d 'With --groupby: group every past revision of the resources by its own values, as Gnocchi\'s use_history'
complete -c carbonara -n "__fish_carbonara_using_subcommand aggregates" -l details -d 'With `-f json`: add the metrics used (`references`), as Gnocchi does'
complete -c carbonara -n "__fish_carbonara_using_subcommand aggregates" -l sort-ascending -d 'Sort the rows in ascending order (the default)'
complete -c carbonara -n "__fish_carbonara_using_subcommand aggregates" -l sort-descending -d 'Sort the rows in descending order'
complete -c carbonara -n "__fish_carbonara_using_subcommand aggregates" -s q -l quiet -d 'No progress or summaries on stderr'
complete -c carbonara -n "__fish_carbonara_using_subcommand aggregates" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c carbonara -n "__fish_carbonara_using_subcommand aggregates" -s V -l version -d 'Print version'
complete -c carbonara -n "__fish_carbonara_using_subcommand top" -s r -l resource-id -d 'Id of the resource whose metrics are named' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand top" -l metric -d 'Resource mode: the name of the metric each resource is ranked by' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand top" -s t -l resource-type -d 'With --metric: the type of the resources ranked [default: generic]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand top" -s n -d 'How many to list' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand top" -l reduce -d 'How each series becomes one value' -r -f -a "max\t'The largest value'
min\t'The smallest value'
mean\t'The mean of the values'
sum\t'The sum of the values'
last\t'The latest point\'s value'"
complete -c carbonara -n "__fish_carbonara_using_subcommand top" -l aggregation -d 'Aggregation method whose series is read' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand top" -l granularity -d 'Granularity read (e.g. `60`, `1h`) [default: the finest of each metric\'s archive policy]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand top" -l start -d 'First timestamp (ISO 8601, epoch seconds, or relative like `-1 hour`), from the bucket holding it' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand top" -l stop -d 'Timestamp to stop before (exclusive)' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand top" -s f -l format -d 'Output format' -r -f -a "table\t'An ASCII table'
json\t'JSON, floats and NaN as Gnocchi\'s API writes them'
csv\t'CSV with a header row'
value\t'Bare values: one row per line, separated by spaces'
yaml\t'YAML, keys sorted (PyYAML\'s `safe_dump`, as cliff)'"
complete -c carbonara -n "__fish_carbonara_using_subcommand top" -s c -l column -d 'Print only this column (or field); repeat for more' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand top" -l sort-column -d 'Sort listed rows by this column; repeat for more (first one first)' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand top" -l store -d 'The store directory [default: $CARBONARA_STORE, else ./carbonara-data]' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand top" -l gnocchi-conf -d 'Work on the Gnocchi deployment this gnocchi.conf describes (its PostgreSQL indexer, file or Redis storage and incoming) instead of a store directory' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand top" -l user -d 'Act as this user: the creator recorded on what the command makes and whose names it resolves, as gnocchi-api records it for that user (`USER` with basic authentication, `USER:PROJECT` with Keystone) [default: admin]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand top" -l ascending -d 'Rank the smallest values first'
complete -c carbonara -n "__fish_carbonara_using_subcommand top" -l sort-ascending -d 'Sort the rows in ascending order (the default)'
complete -c carbonara -n "__fish_carbonara_using_subcommand top" -l sort-descending -d 'Sort the rows in descending order'
complete -c carbonara -n "__fish_carbonara_using_subcommand top" -s q -l quiet -d 'No progress or summaries on stderr'
complete -c carbonara -n "__fish_carbonara_using_subcommand top" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c carbonara -n "__fish_carbonara_using_subcommand top" -s V -l version -d 'Print version'
complete -c carbonara -n "__fish_carbonara_using_subcommand plot" -s r -l resource-id -d 'Id of the resource whose metrics are named' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand plot" -l aggregation -d 'Aggregation method to read; repeat for more with --plot or in `plot`' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand plot" -l granularity -d 'Only this granularity of the archive policy (e.g. `60`, `1h`)' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand plot" -l start -d 'First timestamp (ISO 8601, epoch seconds, or relative like `-1 hour`)' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand plot" -l stop -d 'Timestamp to stop before (exclusive)' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand plot" -l resample -d 'Regroup the points by a timespan (`1h`, `7d`) or calendar period' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand plot" -s o -l output -d 'The image to write: FILE.svg or FILE.png' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand plot" -l width -d 'Width of the image in pixels' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand plot" -l height -d 'Height of the image in pixels' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand plot" -l store -d 'The store directory [default: $CARBONARA_STORE, else ./carbonara-data]' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand plot" -l gnocchi-conf -d 'Work on the Gnocchi deployment this gnocchi.conf describes (its PostgreSQL indexer, file or Redis storage and incoming) instead of a store directory' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand plot" -l user -d 'Act as this user: the creator recorded on what the command makes and whose names it resolves, as gnocchi-api records it for that user (`USER` with basic authentication, `USER:PROJECT` with Keystone) [default: admin]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand plot" -s q -l quiet -d 'No progress or summaries on stderr'
complete -c carbonara -n "__fish_carbonara_using_subcommand plot" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c carbonara -n "__fish_carbonara_using_subcommand plot" -s V -l version -d 'Print version'
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and not __fish_seen_subcommand_from csv statsd influx batch ceilometer prometheus help" -l store -d 'The store directory [default: $CARBONARA_STORE, else ./carbonara-data]' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and not __fish_seen_subcommand_from csv statsd influx batch ceilometer prometheus help" -l gnocchi-conf -d 'Work on the Gnocchi deployment this gnocchi.conf describes (its PostgreSQL indexer, file or Redis storage and incoming) instead of a store directory' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and not __fish_seen_subcommand_from csv statsd influx batch ceilometer prometheus help" -l user -d 'Act as this user: the creator recorded on what the command makes and whose names it resolves, as gnocchi-api records it for that user (`USER` with basic authentication, `USER:PROJECT` with Keystone) [default: admin]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and not __fish_seen_subcommand_from csv statsd influx batch ceilometer prometheus help" -s q -l quiet -d 'No progress or summaries on stderr'
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and not __fish_seen_subcommand_from csv statsd influx batch ceilometer prometheus help" -s h -l help -d 'Print help'
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and not __fish_seen_subcommand_from csv statsd influx batch ceilometer prometheus help" -s V -l version -d 'Print version'
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and not __fish_seen_subcommand_from csv statsd influx batch ceilometer prometheus help" -f -a "csv" -d 'CSV: timestamp,value rows for one metric, rows naming their metric, or one column per metric'
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and not __fish_seen_subcommand_from csv statsd influx batch ceilometer prometheus help" -f -a "statsd" -d 'statsd lines, a file being one flush interval, stored as gnocchi-statsd stores them'
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and not __fish_seen_subcommand_from csv statsd influx batch ceilometer prometheus help" -f -a "influx" -d 'InfluxDB line protocol, mapped as Gnocchi\'s InfluxDB endpoint maps it'
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and not __fish_seen_subcommand_from csv statsd influx batch ceilometer prometheus help" -f -a "batch" -d 'Gnocchi batch JSON: {METRIC_ID: MEASURES} or {RESOURCE_ID: {METRIC_NAME: MEASURES}}'
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and not __fish_seen_subcommand_from csv statsd influx batch ceilometer prometheus help" -f -a "ceilometer" -d 'Ceilometer samples, stored as Ceilometer\'s Gnocchi publisher stores them'
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and not __fish_seen_subcommand_from csv statsd influx batch ceilometer prometheus help" -f -a "prometheus" -d 'Prometheus remote-write bodies (snappy-compressed protobuf), mapped as Gnocchi\'s endpoint maps them'
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and not __fish_seen_subcommand_from csv statsd influx batch ceilometer prometheus help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from csv" -l operation-timeout -d 'With --backfill: how long to wait for a pass that holds a metric\'s sack (`0`: one try) [default: 10s]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from csv" -l archive-policy-name -d 'Archive policy of the metrics created [default: from the archive-policy rules]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from csv" -l metric -d 'Every row belongs to this metric (id or name)' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from csv" -l metric-column -d 'Each row names its metric in this column (header name or 1-based index)' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from csv" -l resource-column -d 'Each row\'s metric is a metric of the resource named in this column (header name or 1-based index)' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from csv" -l timestamp-column -d 'The timestamp column (header name or 1-based index) [default: timestamp, else the first]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from csv" -l value-column -d 'The value column (header name or 1-based index)' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from csv" -l delimiter -d 'Field delimiter' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from csv" -l time-unit -d 'Unit of epoch timestamps [default: guessed from the first one\'s size, and stated]' -r -f -a "s\t''
ms\t''
us\t''
ns\t''"
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from csv" -l store -d 'The store directory [default: $CARBONARA_STORE, else ./carbonara-data]' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from csv" -l gnocchi-conf -d 'Work on the Gnocchi deployment this gnocchi.conf describes (its PostgreSQL indexer, file or Redis storage and incoming) instead of a store directory' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from csv" -l user -d 'Act as this user: the creator recorded on what the command makes and whose names it resolves, as gnocchi-api records it for that user (`USER` with basic authentication, `USER:PROJECT` with Keystone) [default: admin]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from csv" -l skip-invalid -d 'Store the good lines, report each bad one, and exit 1 at the end'
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from csv" -l process -d 'Run the aggregation pass after the import'
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from csv" -l force -d 'Store the files even when more measures wait than the store\'s backlog limit (`carbonara max-backlog`)'
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from csv" -l backfill -d 'Aggregate the measures older than a metric\'s back window into the periods holding no aggregate yet, instead of letting the pass drop them'
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from csv" -l replace -d 'With --backfill: recompute the periods that already hold aggregates from the file\'s measures alone'
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from csv" -l create-metrics -d 'Create missing metrics, with --archive-policy-name or the policy of the matching archive-policy rule'
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from csv" -l wide -d 'One column per metric, named by the header; the timestamp column is the other one'
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from csv" -l create-resources -d 'Create the resources the resource column names that do not exist, as generic resources'
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from csv" -l header -d 'The first row is a header [default: when its value field is not a number]'
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from csv" -l no-header -d 'The first row is data'
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from csv" -s q -l quiet -d 'No progress or summaries on stderr'
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from csv" -s h -l help -d 'Print help'
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from csv" -s V -l version -d 'Print version'
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from statsd" -l operation-timeout -d 'With --backfill: how long to wait for a pass that holds a metric\'s sack (`0`: one try) [default: 10s]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from statsd" -l resource-id -d 'The generic resource that holds the metrics (created if missing); gnocchi-statsd\'s resource_id' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from statsd" -l creator -d 'Creator of the resource and the metrics; gnocchi-statsd\'s creator [default: --user\'s]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from statsd" -l archive-policy-name -d 'Archive policy of new metrics [default: from the archive-policy rules, matched on NAME|TYPE]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from statsd" -l at -d 'When the lines were received: the time of every measure [default: now]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from statsd" -l store -d 'The store directory [default: $CARBONARA_STORE, else ./carbonara-data]' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from statsd" -l gnocchi-conf -d 'Work on the Gnocchi deployment this gnocchi.conf describes (its PostgreSQL indexer, file or Redis storage and incoming) instead of a store directory' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from statsd" -l user -d 'Act as this user: the creator recorded on what the command makes and whose names it resolves, as gnocchi-api records it for that user (`USER` with basic authentication, `USER:PROJECT` with Keystone) [default: admin]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from statsd" -l skip-invalid -d 'Store the good lines, report each bad one, and exit 1 at the end'
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from statsd" -l process -d 'Run the aggregation pass after the import'
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from statsd" -l force -d 'Store the files even when more measures wait than the store\'s backlog limit (`carbonara max-backlog`)'
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from statsd" -l backfill -d 'Aggregate the measures older than a metric\'s back window into the periods holding no aggregate yet, instead of letting the pass drop them'
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from statsd" -l replace -d 'With --backfill: recompute the periods that already hold aggregates from the file\'s measures alone'
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from statsd" -s q -l quiet -d 'No progress or summaries on stderr'
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from statsd" -s h -l help -d 'Print help'
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from statsd" -s V -l version -d 'Print version'
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from influx" -l operation-timeout -d 'With --backfill: how long to wait for a pass that holds a metric\'s sack (`0`: one try) [default: 10s]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from influx" -l db -d 'The database: the resource type of the resources (created if missing)' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from influx" -l resource-tag -d 'The tag whose value is the resource id' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from influx" -l store -d 'The store directory [default: $CARBONARA_STORE, else ./carbonara-data]' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from influx" -l gnocchi-conf -d 'Work on the Gnocchi deployment this gnocchi.conf describes (its PostgreSQL indexer, file or Redis storage and incoming) instead of a store directory' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from influx" -l user -d 'Act as this user: the creator recorded on what the command makes and whose names it resolves, as gnocchi-api records it for that user (`USER` with basic authentication, `USER:PROJECT` with Keystone) [default: admin]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from influx" -l skip-invalid -d 'Store the good lines, report each bad one, and exit 1 at the end'
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from influx" -l process -d 'Run the aggregation pass after the import'
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from influx" -l force -d 'Store the files even when more measures wait than the store\'s backlog limit (`carbonara max-backlog`)'
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from influx" -l backfill -d 'Aggregate the measures older than a metric\'s back window into the periods holding no aggregate yet, instead of letting the pass drop them'
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from influx" -l replace -d 'With --backfill: recompute the periods that already hold aggregates from the file\'s measures alone'
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from influx" -s q -l quiet -d 'No progress or summaries on stderr'
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from influx" -s h -l help -d 'Print help'
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from influx" -s V -l version -d 'Print version'
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from batch" -l operation-timeout -d 'With --backfill: how long to wait for a pass that holds a metric\'s sack (`0`: one try) [default: 10s]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from batch" -l shape -d 'Which body the files hold' -r -f -a "guess\t'By resource if any top-level value is an object, else by metric'
metric\t'{METRIC_ID: MEASURES}, as POST /v1/batch/metrics/measures'
resource\t'{RESOURCE_ID: {METRIC_NAME: MEASURES}}, as POST /v1/batch/resources/metrics/measures'"
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from batch" -l store -d 'The store directory [default: $CARBONARA_STORE, else ./carbonara-data]' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from batch" -l gnocchi-conf -d 'Work on the Gnocchi deployment this gnocchi.conf describes (its PostgreSQL indexer, file or Redis storage and incoming) instead of a store directory' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from batch" -l user -d 'Act as this user: the creator recorded on what the command makes and whose names it resolves, as gnocchi-api records it for that user (`USER` with basic authentication, `USER:PROJECT` with Keystone) [default: admin]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from batch" -l skip-invalid -d 'Store the good lines, report each bad one, and exit 1 at the end'
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from batch" -l process -d 'Run the aggregation pass after the import'
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from batch" -l force -d 'Store the files even when more measures wait than the store\'s backlog limit (`carbonara max-backlog`)'
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from batch" -l backfill -d 'Aggregate the measures older than a metric\'s back window into the periods holding no aggregate yet, instead of letting the pass drop them'
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from batch" -l replace -d 'With --backfill: recompute the periods that already hold aggregates from the file\'s measures alone'
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from batch" -l create-metrics -d 'Create missing metrics of existing resources (their policy from the item, else the rules)'
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from batch" -s q -l quiet -d 'No progress or summaries on stderr'
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from batch" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from batch" -s V -l version -d 'Print version'
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from ceilometer" -l operation-timeout -d 'With --backfill: how long to wait for a pass that holds a metric\'s sack (`0`: one try) [default: 10s]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from ceilometer" -l archive-policy -d 'Archive policy of every metric, instead of the definitions\' (the publisher\'s archive_policy option)' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from ceilometer" -l creator -d 'Creator of what is created, and the owner of resource ids that are not UUIDs (Ceilometer\'s Gnocchi user, e.g. USER_ID:PROJECT_ID with Keystone) [default: --user\'s]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from ceilometer" -l store -d 'The store directory [default: $CARBONARA_STORE, else ./carbonara-data]' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from ceilometer" -l gnocchi-conf -d 'Work on the Gnocchi deployment this gnocchi.conf describes (its PostgreSQL indexer, file or Redis storage and incoming) instead of a store directory' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from ceilometer" -l user -d 'Act as this user: the creator recorded on what the command makes and whose names it resolves, as gnocchi-api records it for that user (`USER` with basic authentication, `USER:PROJECT` with Keystone) [default: admin]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from ceilometer" -l skip-invalid -d 'Store the good lines, report each bad one, and exit 1 at the end'
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from ceilometer" -l process -d 'Run the aggregation pass after the import'
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from ceilometer" -l force -d 'Store the files even when more measures wait than the store\'s backlog limit (`carbonara max-backlog`)'
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from ceilometer" -l backfill -d 'Aggregate the measures older than a metric\'s back window into the periods holding no aggregate yet, instead of letting the pass drop them'
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from ceilometer" -l replace -d 'With --backfill: recompute the periods that already hold aggregates from the file\'s measures alone'
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from ceilometer" -s q -l quiet -d 'No progress or summaries on stderr'
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from ceilometer" -s h -l help -d 'Print help'
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from ceilometer" -s V -l version -d 'Print version'
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from prometheus" -l operation-timeout -d 'With --backfill: how long to wait for a pass that holds a metric\'s sack (`0`: one try) [default: 10s]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from prometheus" -l store -d 'The store directory [default: $CARBONARA_STORE, else ./carbonara-data]' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from prometheus" -l gnocchi-conf -d 'Work on the Gnocchi deployment this gnocchi.conf describes (its PostgreSQL indexer, file or Redis storage and incoming) instead of a store directory' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from prometheus" -l user -d 'Act as this user: the creator recorded on what the command makes and whose names it resolves, as gnocchi-api records it for that user (`USER` with basic authentication, `USER:PROJECT` with Keystone) [default: admin]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from prometheus" -l skip-invalid -d 'Store the good lines, report each bad one, and exit 1 at the end'
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from prometheus" -l process -d 'Run the aggregation pass after the import'
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from prometheus" -l force -d 'Store the files even when more measures wait than the store\'s backlog limit (`carbonara max-backlog`)'
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from prometheus" -l backfill -d 'Aggregate the measures older than a metric\'s back window into the periods holding no aggregate yet, instead of letting the pass drop them'
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from prometheus" -l replace -d 'With --backfill: recompute the periods that already hold aggregates from the file\'s measures alone'
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from prometheus" -s q -l quiet -d 'No progress or summaries on stderr'
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from prometheus" -s h -l help -d 'Print help'
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from prometheus" -s V -l version -d 'Print version'
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from help" -f -a "csv" -d 'CSV: timestamp,value rows for one metric, rows naming their metric, or one column per metric'
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from help" -f -a "statsd" -d 'statsd lines, a file being one flush interval, stored as gnocchi-statsd stores them'
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from help" -f -a "influx" -d 'InfluxDB line protocol, mapped as Gnocchi\'s InfluxDB endpoint maps it'
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from help" -f -a "batch" -d 'Gnocchi batch JSON: {METRIC_ID: MEASURES} or {RESOURCE_ID: {METRIC_NAME: MEASURES}}'
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from help" -f -a "ceilometer" -d 'Ceilometer samples, stored as Ceilometer\'s Gnocchi publisher stores them'
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from help" -f -a "prometheus" -d 'Prometheus remote-write bodies (snappy-compressed protobuf), mapped as Gnocchi\'s endpoint maps them'
complete -c carbonara -n "__fish_carbonara_using_subcommand ingest; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c carbonara -n "__fish_carbonara_using_subcommand process" -s j -l jobs -d 'Worker threads [default: one per core, or per `[metricd] workers` with --gnocchi-conf; 16 times that on S3 or Redis drivers, whose reads wait on the network]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand process" -s f -l format -d 'Output format' -r -f -a "table\t'An ASCII table'
json\t'JSON, floats and NaN as Gnocchi\'s API writes them'
csv\t'CSV with a header row'
value\t'Bare values: one row per line, separated by spaces'
yaml\t'YAML, keys sorted (PyYAML\'s `safe_dump`, as cliff)'"
complete -c carbonara -n "__fish_carbonara_using_subcommand process" -s c -l column -d 'Print only this column (or field); repeat for more' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand process" -l sort-column -d 'Sort listed rows by this column; repeat for more (first one first)' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand process" -l store -d 'The store directory [default: $CARBONARA_STORE, else ./carbonara-data]' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand process" -l gnocchi-conf -d 'Work on the Gnocchi deployment this gnocchi.conf describes (its PostgreSQL indexer, file or Redis storage and incoming) instead of a store directory' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand process" -l user -d 'Act as this user: the creator recorded on what the command makes and whose names it resolves, as gnocchi-api records it for that user (`USER` with basic authentication, `USER:PROJECT` with Keystone) [default: admin]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand process" -l sort-ascending -d 'Sort the rows in ascending order (the default)'
complete -c carbonara -n "__fish_carbonara_using_subcommand process" -l sort-descending -d 'Sort the rows in descending order'
complete -c carbonara -n "__fish_carbonara_using_subcommand process" -s q -l quiet -d 'No progress or summaries on stderr'
complete -c carbonara -n "__fish_carbonara_using_subcommand process" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c carbonara -n "__fish_carbonara_using_subcommand process" -s V -l version -d 'Print version'
complete -c carbonara -n "__fish_carbonara_using_subcommand metricd" -s j -l workers -d 'Threads of each pass [default: one per core, or per `[metricd] workers`; 16 times that on S3 or Redis drivers]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand metricd" -l processing-delay -d 'Time from the start of a pass to the start of the next [default: 1s, or `[metricd] metric_processing_delay`]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand metricd" -l cleanup-delay -d 'Least time between two passes that expunge deleted metrics (`0`: every pass) [default: 300s, or `[metricd] metric_cleanup_delay`]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand metricd" -l processing-replicas -d 'Workers each sack is given to when the workers share sacks through Redis (tooz\'s ring) [default: 3, or `[metricd] processing_replicas`]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand metricd" -l store -d 'The store directory [default: $CARBONARA_STORE, else ./carbonara-data]' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand metricd" -l gnocchi-conf -d 'Work on the Gnocchi deployment this gnocchi.conf describes (its PostgreSQL indexer, file or Redis storage and incoming) instead of a store directory' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand metricd" -l user -d 'Act as this user: the creator recorded on what the command makes and whose names it resolves, as gnocchi-api records it for that user (`USER` with basic authentication, `USER:PROJECT` with Keystone) [default: admin]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand metricd" -l json -d 'Log one JSON object per line'
complete -c carbonara -n "__fish_carbonara_using_subcommand metricd" -s q -l quiet -d 'No progress or summaries on stderr'
complete -c carbonara -n "__fish_carbonara_using_subcommand metricd" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c carbonara -n "__fish_carbonara_using_subcommand metricd" -s V -l version -d 'Print version'
complete -c carbonara -n "__fish_carbonara_using_subcommand status" -s f -l format -d 'Output format' -r -f -a "table\t'An ASCII table'
json\t'JSON, floats and NaN as Gnocchi\'s API writes them'
csv\t'CSV with a header row'
value\t'Bare values: one row per line, separated by spaces'
yaml\t'YAML, keys sorted (PyYAML\'s `safe_dump`, as cliff)'"
complete -c carbonara -n "__fish_carbonara_using_subcommand status" -s c -l column -d 'Print only this column (or field); repeat for more' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand status" -l sort-column -d 'Sort listed rows by this column; repeat for more (first one first)' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand status" -l store -d 'The store directory [default: $CARBONARA_STORE, else ./carbonara-data]' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand status" -l gnocchi-conf -d 'Work on the Gnocchi deployment this gnocchi.conf describes (its PostgreSQL indexer, file or Redis storage and incoming) instead of a store directory' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand status" -l user -d 'Act as this user: the creator recorded on what the command makes and whose names it resolves, as gnocchi-api records it for that user (`USER` with basic authentication, `USER:PROJECT` with Keystone) [default: admin]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand status" -l sort-ascending -d 'Sort the rows in ascending order (the default)'
complete -c carbonara -n "__fish_carbonara_using_subcommand status" -l sort-descending -d 'Sort the rows in descending order'
complete -c carbonara -n "__fish_carbonara_using_subcommand status" -s q -l quiet -d 'No progress or summaries on stderr'
complete -c carbonara -n "__fish_carbonara_using_subcommand status" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c carbonara -n "__fish_carbonara_using_subcommand status" -s V -l version -d 'Print version'
complete -c carbonara -n "__fish_carbonara_using_subcommand dump" -s r -l resource-id -d 'The resource whose metric TARGET names' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand dump" -l start -d 'Only points at or after this timestamp (files without any are left out)' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand dump" -l stop -d 'Only points before this timestamp' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand dump" -s f -l format -d 'Output format' -r -f -a "table\t'An ASCII table'
json\t'JSON, floats and NaN as Gnocchi\'s API writes them'
csv\t'CSV with a header row'
value\t'Bare values: one row per line, separated by spaces'
yaml\t'YAML, keys sorted (PyYAML\'s `safe_dump`, as cliff)'"
complete -c carbonara -n "__fish_carbonara_using_subcommand dump" -s c -l column -d 'Print only this column (or field); repeat for more' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand dump" -l sort-column -d 'Sort listed rows by this column; repeat for more (first one first)' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand dump" -l store -d 'The store directory [default: $CARBONARA_STORE, else ./carbonara-data]' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand dump" -l gnocchi-conf -d 'Work on the Gnocchi deployment this gnocchi.conf describes (its PostgreSQL indexer, file or Redis storage and incoming) instead of a store directory' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand dump" -l user -d 'Act as this user: the creator recorded on what the command makes and whose names it resolves, as gnocchi-api records it for that user (`USER` with basic authentication, `USER:PROJECT` with Keystone) [default: admin]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand dump" -l summary -d 'One row per file, without the points'
complete -c carbonara -n "__fish_carbonara_using_subcommand dump" -l sort-ascending -d 'Sort the rows in ascending order (the default)'
complete -c carbonara -n "__fish_carbonara_using_subcommand dump" -l sort-descending -d 'Sort the rows in descending order'
complete -c carbonara -n "__fish_carbonara_using_subcommand dump" -s q -l quiet -d 'No progress or summaries on stderr'
complete -c carbonara -n "__fish_carbonara_using_subcommand dump" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c carbonara -n "__fish_carbonara_using_subcommand dump" -s V -l version -d 'Print version'
complete -c carbonara -n "__fish_carbonara_using_subcommand janitor" -s f -l format -d 'Output format' -r -f -a "table\t'An ASCII table'
json\t'JSON, floats and NaN as Gnocchi\'s API writes them'
csv\t'CSV with a header row'
value\t'Bare values: one row per line, separated by spaces'
yaml\t'YAML, keys sorted (PyYAML\'s `safe_dump`, as cliff)'"
complete -c carbonara -n "__fish_carbonara_using_subcommand janitor" -s c -l column -d 'Print only this column (or field); repeat for more' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand janitor" -l sort-column -d 'Sort listed rows by this column; repeat for more (first one first)' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand janitor" -l store -d 'The store directory [default: $CARBONARA_STORE, else ./carbonara-data]' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand janitor" -l gnocchi-conf -d 'Work on the Gnocchi deployment this gnocchi.conf describes (its PostgreSQL indexer, file or Redis storage and incoming) instead of a store directory' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand janitor" -l user -d 'Act as this user: the creator recorded on what the command makes and whose names it resolves, as gnocchi-api records it for that user (`USER` with basic authentication, `USER:PROJECT` with Keystone) [default: admin]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand janitor" -l sort-ascending -d 'Sort the rows in ascending order (the default)'
complete -c carbonara -n "__fish_carbonara_using_subcommand janitor" -l sort-descending -d 'Sort the rows in descending order'
complete -c carbonara -n "__fish_carbonara_using_subcommand janitor" -s q -l quiet -d 'No progress or summaries on stderr'
complete -c carbonara -n "__fish_carbonara_using_subcommand janitor" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c carbonara -n "__fish_carbonara_using_subcommand janitor" -s V -l version -d 'Print version'
complete -c carbonara -n "__fish_carbonara_using_subcommand verify" -s f -l format -d 'Output format' -r -f -a "table\t'An ASCII table'
json\t'JSON, floats and NaN as Gnocchi\'s API writes them'
csv\t'CSV with a header row'
value\t'Bare values: one row per line, separated by spaces'
yaml\t'YAML, keys sorted (PyYAML\'s `safe_dump`, as cliff)'"
complete -c carbonara -n "__fish_carbonara_using_subcommand verify" -s c -l column -d 'Print only this column (or field); repeat for more' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand verify" -l sort-column -d 'Sort listed rows by this column; repeat for more (first one first)' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand verify" -l store -d 'The store directory [default: $CARBONARA_STORE, else ./carbonara-data]' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand verify" -l gnocchi-conf -d 'Work on the Gnocchi deployment this gnocchi.conf describes (its PostgreSQL indexer, file or Redis storage and incoming) instead of a store directory' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand verify" -l user -d 'Act as this user: the creator recorded on what the command makes and whose names it resolves, as gnocchi-api records it for that user (`USER` with basic authentication, `USER:PROJECT` with Keystone) [default: admin]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand verify" -l repair -d 'Move bad files and directories into STORE/quarantine/ (nothing is deleted), create missing directories, then verify again'
complete -c carbonara -n "__fish_carbonara_using_subcommand verify" -l sort-ascending -d 'Sort the rows in ascending order (the default)'
complete -c carbonara -n "__fish_carbonara_using_subcommand verify" -l sort-descending -d 'Sort the rows in descending order'
complete -c carbonara -n "__fish_carbonara_using_subcommand verify" -s q -l quiet -d 'No progress or summaries on stderr'
complete -c carbonara -n "__fish_carbonara_using_subcommand verify" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c carbonara -n "__fish_carbonara_using_subcommand verify" -s V -l version -d 'Print version'
complete -c carbonara -n "__fish_carbonara_using_subcommand info" -s r -l resource-id -d 'The resource whose metric METRIC names' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand info" -l top -d 'How many of the most expensive metrics to list' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand info" -s f -l format -d 'Output format' -r -f -a "table\t'An ASCII table'
json\t'JSON, floats and NaN as Gnocchi\'s API writes them'
csv\t'CSV with a header row'
value\t'Bare values: one row per line, separated by spaces'
yaml\t'YAML, keys sorted (PyYAML\'s `safe_dump`, as cliff)'"
complete -c carbonara -n "__fish_carbonara_using_subcommand info" -s c -l column -d 'Print only this column (or field); repeat for more' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand info" -l sort-column -d 'Sort listed rows by this column; repeat for more (first one first)' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand info" -l store -d 'The store directory [default: $CARBONARA_STORE, else ./carbonara-data]' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand info" -l gnocchi-conf -d 'Work on the Gnocchi deployment this gnocchi.conf describes (its PostgreSQL indexer, file or Redis storage and incoming) instead of a store directory' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand info" -l user -d 'Act as this user: the creator recorded on what the command makes and whose names it resolves, as gnocchi-api records it for that user (`USER` with basic authentication, `USER:PROJECT` with Keystone) [default: admin]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand info" -l sort-ascending -d 'Sort the rows in ascending order (the default)'
complete -c carbonara -n "__fish_carbonara_using_subcommand info" -l sort-descending -d 'Sort the rows in descending order'
complete -c carbonara -n "__fish_carbonara_using_subcommand info" -s q -l quiet -d 'No progress or summaries on stderr'
complete -c carbonara -n "__fish_carbonara_using_subcommand info" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c carbonara -n "__fish_carbonara_using_subcommand info" -s V -l version -d 'Print version'
complete -c carbonara -n "__fish_carbonara_using_subcommand sacks" -l set -d 'Change the number of sacks to N (1 to 65535); needs the store to itself and no measures waiting' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand sacks" -s f -l format -d 'Output format' -r -f -a "table\t'An ASCII table'
json\t'JSON, floats and NaN as Gnocchi\'s API writes them'
csv\t'CSV with a header row'
value\t'Bare values: one row per line, separated by spaces'
yaml\t'YAML, keys sorted (PyYAML\'s `safe_dump`, as cliff)'"
complete -c carbonara -n "__fish_carbonara_using_subcommand sacks" -s c -l column -d 'Print only this column (or field); repeat for more' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand sacks" -l sort-column -d 'Sort listed rows by this column; repeat for more (first one first)' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand sacks" -l store -d 'The store directory [default: $CARBONARA_STORE, else ./carbonara-data]' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand sacks" -l gnocchi-conf -d 'Work on the Gnocchi deployment this gnocchi.conf describes (its PostgreSQL indexer, file or Redis storage and incoming) instead of a store directory' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand sacks" -l user -d 'Act as this user: the creator recorded on what the command makes and whose names it resolves, as gnocchi-api records it for that user (`USER` with basic authentication, `USER:PROJECT` with Keystone) [default: admin]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand sacks" -l process -d 'Process the waiting measures first'
complete -c carbonara -n "__fish_carbonara_using_subcommand sacks" -l sort-ascending -d 'Sort the rows in ascending order (the default)'
complete -c carbonara -n "__fish_carbonara_using_subcommand sacks" -l sort-descending -d 'Sort the rows in descending order'
complete -c carbonara -n "__fish_carbonara_using_subcommand sacks" -s q -l quiet -d 'No progress or summaries on stderr'
complete -c carbonara -n "__fish_carbonara_using_subcommand sacks" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c carbonara -n "__fish_carbonara_using_subcommand sacks" -s V -l version -d 'Print version'
complete -c carbonara -n "__fish_carbonara_using_subcommand max-backlog" -l set -d 'Set the limit: writes are refused while more than MEASURES measures wait to be processed' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand max-backlog" -s f -l format -d 'Output format' -r -f -a "table\t'An ASCII table'
json\t'JSON, floats and NaN as Gnocchi\'s API writes them'
csv\t'CSV with a header row'
value\t'Bare values: one row per line, separated by spaces'
yaml\t'YAML, keys sorted (PyYAML\'s `safe_dump`, as cliff)'"
complete -c carbonara -n "__fish_carbonara_using_subcommand max-backlog" -s c -l column -d 'Print only this column (or field); repeat for more' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand max-backlog" -l sort-column -d 'Sort listed rows by this column; repeat for more (first one first)' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand max-backlog" -l store -d 'The store directory [default: $CARBONARA_STORE, else ./carbonara-data]' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand max-backlog" -l gnocchi-conf -d 'Work on the Gnocchi deployment this gnocchi.conf describes (its PostgreSQL indexer, file or Redis storage and incoming) instead of a store directory' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand max-backlog" -l user -d 'Act as this user: the creator recorded on what the command makes and whose names it resolves, as gnocchi-api records it for that user (`USER` with basic authentication, `USER:PROJECT` with Keystone) [default: admin]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand max-backlog" -l unset -d 'Remove the limit'
complete -c carbonara -n "__fish_carbonara_using_subcommand max-backlog" -l sort-ascending -d 'Sort the rows in ascending order (the default)'
complete -c carbonara -n "__fish_carbonara_using_subcommand max-backlog" -l sort-descending -d 'Sort the rows in descending order'
complete -c carbonara -n "__fish_carbonara_using_subcommand max-backlog" -s q -l quiet -d 'No progress or summaries on stderr'
complete -c carbonara -n "__fish_carbonara_using_subcommand max-backlog" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c carbonara -n "__fish_carbonara_using_subcommand max-backlog" -s V -l version -d 'Print version'
complete -c carbonara -n "__fish_carbonara_using_subcommand upgrade" -l sacks-number -d 'With --gnocchi-conf: the number of sacks of a new deployment, 1 to 65535 (gnocchi-upgrade\'s option; an existing deployment keeps its own)' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand upgrade" -s f -l format -d 'Output format' -r -f -a "table\t'An ASCII table'
json\t'JSON, floats and NaN as Gnocchi\'s API writes them'
csv\t'CSV with a header row'
value\t'Bare values: one row per line, separated by spaces'
yaml\t'YAML, keys sorted (PyYAML\'s `safe_dump`, as cliff)'"
complete -c carbonara -n "__fish_carbonara_using_subcommand upgrade" -s c -l column -d 'Print only this column (or field); repeat for more' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand upgrade" -l sort-column -d 'Sort listed rows by this column; repeat for more (first one first)' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand upgrade" -l store -d 'The store directory [default: $CARBONARA_STORE, else ./carbonara-data]' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand upgrade" -l gnocchi-conf -d 'Work on the Gnocchi deployment this gnocchi.conf describes (its PostgreSQL indexer, file or Redis storage and incoming) instead of a store directory' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand upgrade" -l user -d 'Act as this user: the creator recorded on what the command makes and whose names it resolves, as gnocchi-api records it for that user (`USER` with basic authentication, `USER:PROJECT` with Keystone) [default: admin]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand upgrade" -l skip-archive-policies-creation -d 'With --gnocchi-conf: create no archive policies and no rule on a new deployment (gnocchi-upgrade\'s option)'
complete -c carbonara -n "__fish_carbonara_using_subcommand upgrade" -l sort-ascending -d 'Sort the rows in ascending order (the default)'
complete -c carbonara -n "__fish_carbonara_using_subcommand upgrade" -l sort-descending -d 'Sort the rows in descending order'
complete -c carbonara -n "__fish_carbonara_using_subcommand upgrade" -s q -l quiet -d 'No progress or summaries on stderr'
complete -c carbonara -n "__fish_carbonara_using_subcommand upgrade" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c carbonara -n "__fish_carbonara_using_subcommand upgrade" -s V -l version -d 'Print version'
complete -c carbonara -n "__fish_carbonara_using_subcommand import-gnocchi" -s a -l archive-policy-name -d 'The archive policy of the adopted metrics; it must have the methods and granularities their archives have' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand import-gnocchi" -s f -l format -d 'Output format' -r -f -a "table\t'An ASCII table'
json\t'JSON, floats and NaN as Gnocchi\'s API writes them'
csv\t'CSV with a header row'
value\t'Bare values: one row per line, separated by spaces'
yaml\t'YAML, keys sorted (PyYAML\'s `safe_dump`, as cliff)'"
complete -c carbonara -n "__fish_carbonara_using_subcommand import-gnocchi" -s c -l column -d 'Print only this column (or field); repeat for more' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand import-gnocchi" -l sort-column -d 'Sort listed rows by this column; repeat for more (first one first)' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand import-gnocchi" -l store -d 'The store directory [default: $CARBONARA_STORE, else ./carbonara-data]' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand import-gnocchi" -l gnocchi-conf -d 'Work on the Gnocchi deployment this gnocchi.conf describes (its PostgreSQL indexer, file or Redis storage and incoming) instead of a store directory' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand import-gnocchi" -l user -d 'Act as this user: the creator recorded on what the command makes and whose names it resolves, as gnocchi-api records it for that user (`USER` with basic authentication, `USER:PROJECT` with Keystone) [default: admin]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand import-gnocchi" -l sort-ascending -d 'Sort the rows in ascending order (the default)'
complete -c carbonara -n "__fish_carbonara_using_subcommand import-gnocchi" -l sort-descending -d 'Sort the rows in descending order'
complete -c carbonara -n "__fish_carbonara_using_subcommand import-gnocchi" -s q -l quiet -d 'No progress or summaries on stderr'
complete -c carbonara -n "__fish_carbonara_using_subcommand import-gnocchi" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c carbonara -n "__fish_carbonara_using_subcommand import-gnocchi" -s V -l version -d 'Print version'
complete -c carbonara -n "__fish_carbonara_using_subcommand serve" -l listen -d 'Address and port to listen on (a non-loopback address is announced on stderr) [default: 127.0.0.1:8041, or `[api] host` and `port`]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand serve" -l auth -d 'How callers identify themselves [default: basic, or `[api] auth_mode`]' -r -f -a "basic\t'HTTP basic: the user name is the creator, `admin` is admin (gnocchiclient\'s `gnocchi-basic`)'
noauth\t'Keystone\'s headers, trusted as sent: X-User-Id, X-Project-Id, X-Roles (gnocchiclient\'s `gnocchi-noauth`, Grafana)'
keystone\t'Keystone tokens (X-Auth-Token), validated against the deployment\'s Keystone as keystonemiddleware does; needs --gnocchi-conf and its `[keystone_authtoken]`'"
complete -c carbonara -n "__fish_carbonara_using_subcommand serve" -l process-interval -d 'Time between background aggregation passes (`0` for none: measures are then aggregated by `?refresh=true` or `carbonara process`) [default: 1s, or `[metricd] metric_processing_delay`]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand serve" -l cleanup-delay -d 'Least time between two background passes that expunge deleted metrics (`0`: every pass) [default: 300s, or `[metricd] metric_cleanup_delay`]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand serve" -l operation-timeout -d 'How long `?refresh=true` waits for a pass that holds the metric\'s sack before answering 503 (`0`: no wait) [default: 10s, or `[api] operation_timeout`]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand serve" -l max-limit -d 'Largest page of a listing, and its default [default: 1000, or `[api] max_limit`]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand serve" -l cors-allowed-origin -d 'An origin allowed to call the API from a browser (CORS), e.g. Grafana\'s URL; `*` for any; repeat for more [default: `[cors] allowed_origin`]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand serve" -l max-body-size -d 'Largest request body accepted, in bytes (larger ones get 413)' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand serve" -l request-timeout -d 'Longest time a request may take before it is answered 503' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand serve" -l max-backlog -d 'Refuse measure writes with 503 and Retry-After while more than this many measures wait to be processed (a carbonara option, also with --gnocchi-conf) [default: the store\'s `carbonara max-backlog`, else none]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand serve" -l statsd -d 'Also receive statsd metrics on this address, UDP and TCP, flushed every 10 s onto the generic resource `statsd` (`carbonara statsd` has every option)' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand serve" -l store -d 'The store directory [default: $CARBONARA_STORE, else ./carbonara-data]' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand serve" -l gnocchi-conf -d 'Work on the Gnocchi deployment this gnocchi.conf describes (its PostgreSQL indexer, file or Redis storage and incoming) instead of a store directory' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand serve" -l user -d 'Act as this user: the creator recorded on what the command makes and whose names it resolves, as gnocchi-api records it for that user (`USER` with basic authentication, `USER:PROJECT` with Keystone) [default: admin]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand serve" -l proxy-headers -d 'Trust `Forwarded` and `X-Forwarded-Proto/Host/Prefix` from a reverse proxy for the URLs the API writes [default: `[api] enable_proxy_headers_parsing`]'
complete -c carbonara -n "__fish_carbonara_using_subcommand serve" -s q -l quiet -d 'No progress or summaries on stderr'
complete -c carbonara -n "__fish_carbonara_using_subcommand serve" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c carbonara -n "__fish_carbonara_using_subcommand serve" -s V -l version -d 'Print version'
complete -c carbonara -n "__fish_carbonara_using_subcommand statsd" -l listen -d 'Address and port to receive on, UDP and TCP (newline-separated lines)' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand statsd" -l flush-interval -d 'Time between flushes of the pending measures into the store (gnocchi-statsd\'s flush_delay)' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand statsd" -l resource-id -d 'The generic resource that holds the metrics (created if missing; any id, mapped like every resource id)' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand statsd" -l creator -d 'Creator of the resource and the metrics [default: --user\'s]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand statsd" -l archive-policy-name -d 'Archive policy of new metrics [default: from the archive-policy rules, matched on NAME|TYPE]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand statsd" -l store -d 'The store directory [default: $CARBONARA_STORE, else ./carbonara-data]' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand statsd" -l gnocchi-conf -d 'Work on the Gnocchi deployment this gnocchi.conf describes (its PostgreSQL indexer, file or Redis storage and incoming) instead of a store directory' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand statsd" -l user -d 'Act as this user: the creator recorded on what the command makes and whose names it resolves, as gnocchi-api records it for that user (`USER` with basic authentication, `USER:PROJECT` with Keystone) [default: admin]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand statsd" -s q -l quiet -d 'No progress or summaries on stderr'
complete -c carbonara -n "__fish_carbonara_using_subcommand statsd" -s h -l help -d 'Print help'
complete -c carbonara -n "__fish_carbonara_using_subcommand statsd" -s V -l version -d 'Print version'
complete -c carbonara -n "__fish_carbonara_using_subcommand generate" -l out -d 'Directory receiving man/ and completions/' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand generate" -l store -d 'The store directory [default: $CARBONARA_STORE, else ./carbonara-data]' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand generate" -l gnocchi-conf -d 'Work on the Gnocchi deployment this gnocchi.conf describes (its PostgreSQL indexer, file or Redis storage and incoming) instead of a store directory' -r -F
complete -c carbonara -n "__fish_carbonara_using_subcommand generate" -l user -d 'Act as this user: the creator recorded on what the command makes and whose names it resolves, as gnocchi-api records it for that user (`USER` with basic authentication, `USER:PROJECT` with Keystone) [default: admin]' -r
complete -c carbonara -n "__fish_carbonara_using_subcommand generate" -s q -l quiet -d 'No progress or summaries on stderr'
complete -c carbonara -n "__fish_carbonara_using_subcommand generate" -s h -l help -d 'Print help'
complete -c carbonara -n "__fish_carbonara_using_subcommand generate" -s V -l version -d 'Print version'
complete -c carbonara -n "__fish_carbonara_using_subcommand help; and not __fish_seen_subcommand_from init demo archive-policy archive-policy-rule metric resource-type resource measures aggregates top plot ingest process metricd status dump janitor verify info sacks max-backlog upgrade import-gnocchi serve statsd generate help" -f -a "init" -d 'Create a store, with Gnocchi\'s default archive policies'
complete -c carbonara -n "__fish_carbonara_using_subcommand help; and not __fish_seen_subcommand_from init demo archive-policy archive-policy-rule metric resource-type resource measures aggregates top plot ingest process metricd status dump janitor verify info sacks max-backlog upgrade import-gnocchi serve statsd generate help" -f -a "demo" -d 'Build a sample store, process it and print what it holds'
complete -c carbonara -n "__fish_carbonara_using_subcommand help; and not __fish_seen_subcommand_from init demo archive-policy archive-policy-rule metric resource-type resource measures aggregates top plot ingest process metricd status dump janitor verify info sacks max-backlog upgrade import-gnocchi serve statsd generate help" -f -a "archive-policy" -d 'Create, list, show, update and delete archive policies'
complete -c carbonara -n "__fish_carbonara_using_subcommand help; and not __fish_seen_subcommand_from init demo archive-policy archive-policy-rule metric resource-type resource measures aggregates top plot ingest process metricd status dump janitor verify info sacks max-backlog upgrade import-gnocchi serve statsd generate help" -f -a "archive-policy-rule" -d 'Create, list, show and delete archive-policy rules'
complete -c carbonara -n "__fish_carbonara_using_subcommand help; and not __fish_seen_subcommand_from init demo archive-policy archive-policy-rule metric resource-type resource measures aggregates top plot ingest process metricd status dump janitor verify info sacks max-backlog upgrade import-gnocchi serve statsd generate help" -f -a "metric" -d 'Create, list, show, search and delete metrics'
complete -c carbonara -n "__fish_carbonara_using_subcommand help; and not __fish_seen_subcommand_from init demo archive-policy archive-policy-rule metric resource-type resource measures aggregates top plot ingest process metricd status dump janitor verify info sacks max-backlog upgrade import-gnocchi serve statsd generate help" -f -a "resource-type" -d 'Create, list, show, update and delete resource types'
complete -c carbonara -n "__fish_carbonara_using_subcommand help; and not __fish_seen_subcommand_from init demo archive-policy archive-policy-rule metric resource-type resource measures aggregates top plot ingest process metricd status dump janitor verify info sacks max-backlog upgrade import-gnocchi serve statsd generate help" -f -a "resource" -d 'Create, list, show, update, search and delete resources'
complete -c carbonara -n "__fish_carbonara_using_subcommand help; and not __fish_seen_subcommand_from init demo archive-policy archive-policy-rule metric resource-type resource measures aggregates top plot ingest process metricd status dump janitor verify info sacks max-backlog upgrade import-gnocchi serve statsd generate help" -f -a "measures" -d 'Add measures to a metric and read its aggregates'
complete -c carbonara -n "__fish_carbonara_using_subcommand help; and not __fish_seen_subcommand_from init demo archive-policy archive-policy-rule metric resource-type resource measures aggregates top plot ingest process metricd status dump janitor verify info sacks max-backlog upgrade import-gnocchi serve statsd generate help" -f -a "aggregates" -d 'Evaluate operations over the aggregates of several metrics'
complete -c carbonara -n "__fish_carbonara_using_subcommand help; and not __fish_seen_subcommand_from init demo archive-policy archive-policy-rule metric resource-type resource measures aggregates top plot ingest process metricd status dump janitor verify info sacks max-backlog upgrade import-gnocchi serve statsd generate help" -f -a "top" -d 'Rank metrics, or the resources of a type by one of their metrics, by one value each'
complete -c carbonara -n "__fish_carbonara_using_subcommand help; and not __fish_seen_subcommand_from init demo archive-policy archive-policy-rule metric resource-type resource measures aggregates top plot ingest process metricd status dump janitor verify info sacks max-backlog upgrade import-gnocchi serve statsd generate help" -f -a "plot" -d 'Draw metrics\' aggregates as a line chart in an SVG or PNG file'
complete -c carbonara -n "__fish_carbonara_using_subcommand help; and not __fish_seen_subcommand_from init demo archive-policy archive-policy-rule metric resource-type resource measures aggregates top plot ingest process metricd status dump janitor verify info sacks max-backlog upgrade import-gnocchi serve statsd generate help" -f -a "ingest" -d 'Import measures from files'
complete -c carbonara -n "__fish_carbonara_using_subcommand help; and not __fish_seen_subcommand_from init demo archive-policy archive-policy-rule metric resource-type resource measures aggregates top plot ingest process metricd status dump janitor verify info sacks max-backlog upgrade import-gnocchi serve statsd generate help" -f -a "process" -d 'Run the aggregation pass (Gnocchi\'s metricd) over waiting measures'
complete -c carbonara -n "__fish_carbonara_using_subcommand help; and not __fish_seen_subcommand_from init demo archive-policy archive-policy-rule metric resource-type resource measures aggregates top plot ingest process metricd status dump janitor verify info sacks max-backlog upgrade import-gnocchi serve statsd generate help" -f -a "metricd" -d 'Run aggregation passes until stopped, as gnocchi-metricd does'
complete -c carbonara -n "__fish_carbonara_using_subcommand help; and not __fish_seen_subcommand_from init demo archive-policy archive-policy-rule metric resource-type resource measures aggregates top plot ingest process metricd status dump janitor verify info sacks max-backlog upgrade import-gnocchi serve statsd generate help" -f -a "status" -d 'Show the measures waiting to be processed'
complete -c carbonara -n "__fish_carbonara_using_subcommand help; and not __fish_seen_subcommand_from init demo archive-policy archive-policy-rule metric resource-type resource measures aggregates top plot ingest process metricd status dump janitor verify info sacks max-backlog upgrade import-gnocchi serve statsd generate help" -f -a "dump" -d 'Decode archive files: a metric\'s, a Gnocchi directory\'s or one file'
complete -c carbonara -n "__fish_carbonara_using_subcommand help; and not __fish_seen_subcommand_from init demo archive-policy archive-policy-rule metric resource-type resource measures aggregates top plot ingest process metricd status dump janitor verify info sacks max-backlog upgrade import-gnocchi serve statsd generate help" -f -a "janitor" -d 'Remove the data of deleted metrics (the next `process` does it too)'
complete -c carbonara -n "__fish_carbonara_using_subcommand help; and not __fish_seen_subcommand_from init demo archive-policy archive-policy-rule metric resource-type resource measures aggregates top plot ingest process metricd status dump janitor verify info sacks max-backlog upgrade import-gnocchi serve statsd generate help" -f -a "verify" -d 'Check archive files, sacks and index; `--repair` quarantines what is bad'
complete -c carbonara -n "__fish_carbonara_using_subcommand help; and not __fish_seen_subcommand_from init demo archive-policy archive-policy-rule metric resource-type resource measures aggregates top plot ingest process metricd status dump janitor verify info sacks max-backlog upgrade import-gnocchi serve statsd generate help" -f -a "info" -d 'What a metric\'s archive or the whole store holds, and its cost on disk'
complete -c carbonara -n "__fish_carbonara_using_subcommand help; and not __fish_seen_subcommand_from init demo archive-policy archive-policy-rule metric resource-type resource measures aggregates top plot ingest process metricd status dump janitor verify info sacks max-backlog upgrade import-gnocchi serve statsd generate help" -f -a "sacks" -d 'Show or change the number of sacks (gnocchi-change-sack-size)'
complete -c carbonara -n "__fish_carbonara_using_subcommand help; and not __fish_seen_subcommand_from init demo archive-policy archive-policy-rule metric resource-type resource measures aggregates top plot ingest process metricd status dump janitor verify info sacks max-backlog upgrade import-gnocchi serve statsd generate help" -f -a "max-backlog" -d 'Show or change the backlog limit past which ingest, measures add and serve refuse writes'
complete -c carbonara -n "__fish_carbonara_using_subcommand help; and not __fish_seen_subcommand_from init demo archive-policy archive-policy-rule metric resource-type resource measures aggregates top plot ingest process metricd status dump janitor verify info sacks max-backlog upgrade import-gnocchi serve statsd generate help" -f -a "upgrade" -d 'Bring a store written by an older carbonara to the current format'
complete -c carbonara -n "__fish_carbonara_using_subcommand help; and not __fish_seen_subcommand_from init demo archive-policy archive-policy-rule metric resource-type resource measures aggregates top plot ingest process metricd status dump janitor verify info sacks max-backlog upgrade import-gnocchi serve statsd generate help" -f -a "import-gnocchi" -d 'Adopt the metrics of a Gnocchi file-storage directory, ids kept'
complete -c carbonara -n "__fish_carbonara_using_subcommand help; and not __fish_seen_subcommand_from init demo archive-policy archive-policy-rule metric resource-type resource measures aggregates top plot ingest process metricd status dump janitor verify info sacks max-backlog upgrade import-gnocchi serve statsd generate help" -f -a "serve" -d 'Serve Gnocchi\'s REST API over the store, aggregating in the background'
complete -c carbonara -n "__fish_carbonara_using_subcommand help; and not __fish_seen_subcommand_from init demo archive-policy archive-policy-rule metric resource-type resource measures aggregates top plot ingest process metricd status dump janitor verify info sacks max-backlog upgrade import-gnocchi serve statsd generate help" -f -a "statsd" -d 'Receive statsd metrics over UDP and TCP and flush them into the store (gnocchi-statsd)'
complete -c carbonara -n "__fish_carbonara_using_subcommand help; and not __fish_seen_subcommand_from init demo archive-policy archive-policy-rule metric resource-type resource measures aggregates top plot ingest process metricd status dump janitor verify info sacks max-backlog upgrade import-gnocchi serve statsd generate help" -f -a "generate" -d 'Write the man pages and shell completions'
complete -c carbonara -n "__fish_carbonara_using_subcommand help; and not __fish_seen_subcommand_from init demo archive-policy archive-policy-rule metric resource-type resource measures aggregates top plot ingest process metricd status dump janitor verify info sacks max-backlog upgrade import-gnocchi serve statsd generate help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c carbonara -n "__fish_carbonara_using_subcommand help; and __fish_seen_subcommand_from archive-policy" -f -a "create" -d 'Create an archive policy'
complete -c carbonara -n "__fish_carbonara_using_subcommand help; and __fish_seen_subcommand_from archive-policy" -f -a "list" -d 'List the archive policies'
complete -c carbonara -n "__fish_carbonara_using_subcommand help; and __fish_seen_subcommand_from archive-policy" -f -a "show" -d 'Show an archive policy'
complete -c carbonara -n "__fish_carbonara_using_subcommand help; and __fish_seen_subcommand_from archive-policy" -f -a "update" -d 'Change the points or timespans of an archive policy, or its back window'
complete -c carbonara -n "__fish_carbonara_using_subcommand help; and __fish_seen_subcommand_from archive-policy" -f -a "delete" -d 'Delete an archive policy no metric or rule uses'
complete -c carbonara -n "__fish_carbonara_using_subcommand help; and __fish_seen_subcommand_from archive-policy" -f -a "estimate" -d 'Estimate the disk one metric needs under a policy, typical and worst case'
complete -c carbonara -n "__fish_carbonara_using_subcommand help; and __fish_seen_subcommand_from archive-policy-rule" -f -a "create" -d 'Create a rule'
complete -c carbonara -n "__fish_carbonara_using_subcommand help; and __fish_seen_subcommand_from archive-policy-rule" -f -a "list" -d 'List the rules, in matching order'
complete -c carbonara -n "__fish_carbonara_using_subcommand help; and __fish_seen_subcommand_from archive-policy-rule" -f -a "show" -d 'Show a rule'
complete -c carbonara -n "__fish_carbonara_using_subcommand help; and __fish_seen_subcommand_from archive-policy-rule" -f -a "delete" -d 'Delete a rule'
complete -c carbonara -n "__fish_carbonara_using_subcommand help; and __fish_seen_subcommand_from metric" -f -a "create" -d 'Create a metric'
complete -c carbonara -n "__fish_carbonara_using_subcommand help; and __fish_seen_subcommand_from metric" -f -a "list" -d 'List the metrics'
complete -c carbonara -n "__fish_carbonara_using_subcommand help; and __fish_seen_subcommand_from metric" -f -a "show" -d 'Show a metric'
complete -c carbonara -n "__fish_carbonara_using_subcommand help; and __fish_seen_subcommand_from metric" -f -a "delete" -d 'Delete metrics; their data is removed by the next `process`'
complete -c carbonara -n "__fish_carbonara_using_subcommand help; and __fish_seen_subcommand_from metric" -f -a "update" -d 'Move a metric to another archive policy, rewriting its archive with its history'
complete -c carbonara -n "__fish_carbonara_using_subcommand help; and __fish_seen_subcommand_from metric" -f -a "search" -d 'Find the aggregates whose value matches a query (Gnocchi\'s measure value search), e.g. `{"and": [{">=": [{"+": 23}, 50]}, {"!=": 55}]}`'
complete -c carbonara -n "__fish_carbonara_using_subcommand help; and __fish_seen_subcommand_from resource-type" -f -a "create" -d 'Create a resource type'
complete -c carbonara -n "__fish_carbonara_using_subcommand help; and __fish_seen_subcommand_from resource-type" -f -a "list" -d 'List the resource types'
complete -c carbonara -n "__fish_carbonara_using_subcommand help; and __fish_seen_subcommand_from resource-type" -f -a "show" -d 'Show a resource type'
complete -c carbonara -n "__fish_carbonara_using_subcommand help; and __fish_seen_subcommand_from resource-type" -f -a "update" -d 'Add, change or remove attributes of a resource type'
complete -c carbonara -n "__fish_carbonara_using_subcommand help; and __fish_seen_subcommand_from resource-type" -f -a "delete" -d 'Delete a resource type no resource uses'
complete -c carbonara -n "__fish_carbonara_using_subcommand help; and __fish_seen_subcommand_from resource" -f -a "create" -d 'Create a resource'
complete -c carbonara -n "__fish_carbonara_using_subcommand help; and __fish_seen_subcommand_from resource" -f -a "update" -d 'Change a resource (a new revision when a value changes)'
complete -c carbonara -n "__fish_carbonara_using_subcommand help; and __fish_seen_subcommand_from resource" -f -a "show" -d 'Show a resource'
complete -c carbonara -n "__fish_carbonara_using_subcommand help; and __fish_seen_subcommand_from resource" -f -a "list" -d 'List resources'
complete -c carbonara -n "__fish_carbonara_using_subcommand help; and __fish_seen_subcommand_from resource" -f -a "history" -d 'List the revisions of a resource'
complete -c carbonara -n "__fish_carbonara_using_subcommand help; and __fish_seen_subcommand_from resource" -f -a "search" -d 'Search resources with Gnocchi\'s filter syntax, as a string (`host=\'a\' and (cpu>=2 or flavor like \'m1.%\')`) or JSON (`{"=": {"host": "a"}}`)'
complete -c carbonara -n "__fish_carbonara_using_subcommand help; and __fish_seen_subcommand_from resource" -f -a "delete" -d 'Delete a resource; its metrics\' data goes at the next `process`'
complete -c carbonara -n "__fish_carbonara_using_subcommand help; and __fish_seen_subcommand_from resource" -f -a "batch" -d 'Delete many resources'
complete -c carbonara -n "__fish_carbonara_using_subcommand help; and __fish_seen_subcommand_from measures" -f -a "add" -d 'Add measures to a metric (processed by the next `process`)'
complete -c carbonara -n "__fish_carbonara_using_subcommand help; and __fish_seen_subcommand_from measures" -f -a "delete" -d 'Delete the aggregates and raw points of a metric in a time range'
complete -c carbonara -n "__fish_carbonara_using_subcommand help; and __fish_seen_subcommand_from measures" -f -a "search" -d 'Find the aggregates whose value matches a query (the same as `metric search`)'
complete -c carbonara -n "__fish_carbonara_using_subcommand help; and __fish_seen_subcommand_from measures" -f -a "show" -d 'Show the aggregates of a metric'
complete -c carbonara -n "__fish_carbonara_using_subcommand help; and __fish_seen_subcommand_from ingest" -f -a "csv" -d 'CSV: timestamp,value rows for one metric, rows naming their metric, or one column per metric'
complete -c carbonara -n "__fish_carbonara_using_subcommand help; and __fish_seen_subcommand_from ingest" -f -a "statsd" -d 'statsd lines, a file being one flush interval, stored as gnocchi-statsd stores them'
complete -c carbonara -n "__fish_carbonara_using_subcommand help; and __fish_seen_subcommand_from ingest" -f -a "influx" -d 'InfluxDB line protocol, mapped as Gnocchi\'s InfluxDB endpoint maps it'
complete -c carbonara -n "__fish_carbonara_using_subcommand help; and __fish_seen_subcommand_from ingest" -f -a "batch" -d 'Gnocchi batch JSON: {METRIC_ID: MEASURES} or {RESOURCE_ID: {METRIC_NAME: MEASURES}}'
complete -c carbonara -n "__fish_carbonara_using_subcommand help; and __fish_seen_subcommand_from ingest" -f -a "ceilometer" -d 'Ceilometer samples, stored as Ceilometer\'s Gnocchi publisher stores them'
complete -c carbonara -n "__fish_carbonara_using_subcommand help; and __fish_seen_subcommand_from ingest" -f -a "prometheus" -d 'Prometheus remote-write bodies (snappy-compressed protobuf), mapped as Gnocchi\'s endpoint maps them'
