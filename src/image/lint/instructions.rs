//! The rules one instruction of a stage is checked against, with what the stage has seen so far.

use parse_dockerfile::{CopyInstruction, HealthcheckInstruction, RunInstruction, UserInstruction};

use super::*;

/// A stage being read: its facts for the final-stage rules, and its counts so far.
pub(super) struct InStage {
    pub(super) facts: StageFacts,
    pub(super) index: usize,
    pub(super) healthchecks: usize,
    pub(super) cmds: usize,
    pub(super) entrypoints: usize,
    /// A `SHELL` with `-o pipefail` came earlier in the stage.
    pub(super) pipefail: bool,
}

impl Lint<'_> {
    pub(super) fn instruction(
        &mut self,
        stage: &mut InStage,
        earlier: &[StageFacts],
        instruction: &Instruction<'_>,
    ) {
        match instruction {
            Instruction::User(user) => self.user(stage, user),
            Instruction::Healthcheck(check) => self.healthcheck(stage, check),
            Instruction::Cmd(cmd) => {
                let line = self.line_of(cmd.cmd.span.start);
                stage.cmds += 1;
                if stage.cmds > 1 {
                    self.push(
                        "DL4003",
                        line,
                        "a second CMD in this stage: only the last one counts".into(),
                    );
                }
                self.exec_form("CMD", &cmd.arguments, line);
            }
            Instruction::Entrypoint(entrypoint) => {
                let line = self.line_of(entrypoint.entrypoint.span.start);
                stage.entrypoints += 1;
                if stage.entrypoints > 1 {
                    self.push("DL4004", line, "a second ENTRYPOINT in this stage".into());
                }
                self.exec_form("ENTRYPOINT", &entrypoint.arguments, line);
            }
            Instruction::Shell(shell) => {
                let words: Vec<&str> = shell.arguments.iter().map(|w| w.value.as_ref()).collect();
                stage.pipefail = words.windows(2).any(|w| w == ["-o", "pipefail"])
                    || words.iter().any(|w| w.contains("pipefail"));
            }
            Instruction::Run(run) => self.run(stage, run),
            Instruction::Add(add) => {
                let line = self.line_of(add.add.span.start);
                for source in &add.src {
                    if let Source::Path(path) = source
                        && !is_url_or_archive(&path.value)
                    {
                        self.push(
                            "DL3020",
                            line,
                            format!("ADD {}: use COPY for files and folders", path.value),
                        );
                    }
                }
            }
            Instruction::Copy(copy) => self.copy(stage, earlier, copy),
            Instruction::Arg(arg) => {
                let line = self.line_of(arg.arg.span.start);
                self.variables(&arg.arguments.value, line, "ARG");
            }
            Instruction::Env(env) => {
                let line = self.line_of(env.env.span.start);
                self.variables(&env.arguments.value, line, "ENV");
            }
            _ => {}
        }
    }

    /// DL3066: a numeric uid, so the runtime can check it is not root.
    fn user(&mut self, stage: &mut InStage, user: &UserInstruction<'_>) {
        let line = self.line_of(user.user.span.start);
        let value = user.arguments.value.trim().to_string();
        let who = value.split(':').next().unwrap_or_default();
        if !who.starts_with('$') && who.parse::<u32>().is_err() {
            self.push(
                "DL3066",
                line,
                format!(
                    "USER {who} is a name: give a numeric uid (and gid), e.g. USER 10001:10001"
                ),
            );
        }
        stage.facts.user = Some((value, line));
    }

    /// DL3012, DL3025.
    fn healthcheck(&mut self, stage: &mut InStage, check: &HealthcheckInstruction<'_>) {
        let line = self.line_of(check.healthcheck.span.start);
        stage.healthchecks += 1;
        if stage.healthchecks > 1 {
            self.push("DL3012", line, "a second HEALTHCHECK in this stage".into());
        }
        match &check.arguments {
            HealthcheckArguments::Cmd { arguments, .. } => {
                stage.facts.healthcheck = true;
                if matches!(arguments, Command::Shell(_)) {
                    self.push(
                        "DL3025",
                        line,
                        "HEALTHCHECK CMD in shell form: write it as a JSON array".into(),
                    );
                }
            }
            HealthcheckArguments::None { .. } => stage.facts.healthcheck = false,
            _ => {}
        }
    }

    /// DL3025 on CMD and ENTRYPOINT: the shell form does not pass SIGTERM on.
    fn exec_form(&mut self, keyword: &str, arguments: &Command<'_>, line: usize) {
        if matches!(arguments, Command::Shell(_)) {
            self.push(
                "DL3025",
                line,
                format!(
                    "{keyword} in shell form runs under /bin/sh, which does not pass SIGTERM on: write it as a \
                     JSON array"
                ),
            );
        }
    }

    /// DL4006, then the script's own rules (`run.rs`).
    fn run(&mut self, stage: &InStage, run: &RunInstruction<'_>) {
        let line = self.line_of(run.run.span.start);
        let script = match &run.arguments {
            Command::Shell(shell) => shell.value.replace("\\\n", " "),
            Command::Exec(words) => words
                .value
                .iter()
                .map(|w| w.value.as_ref())
                .collect::<Vec<_>>()
                .join(" "),
            _ => String::new(),
        };
        let here_docs: String = run
            .here_docs
            .iter()
            .map(|h| format!("\n{}", h.value))
            .collect();
        let script = script + &here_docs;
        if !stage.pipefail && matches!(run.arguments, Command::Shell(_)) && has_pipe(&script) {
            self.push(
                "DL4006",
                line,
                "a RUN with a pipe: without `SHELL [\"/bin/bash\", \"-o\", \"pipefail\", \"-c\"]` a \
                 failure before the last command of the pipe goes unnoticed"
                    .into(),
            );
        }
        let cache_mounts: Vec<String> = run
            .options
            .iter()
            .filter(|f| f.name.value == "mount")
            .filter_map(|f| f.value.as_ref().map(|v| v.value.to_string()))
            .collect();
        self.run_script(&script, line, &cache_mounts);
    }

    /// DL3022, DL3023: `COPY --from` names an earlier stage, not its own.
    fn copy(&mut self, stage: &InStage, earlier: &[StageFacts], copy: &CopyInstruction<'_>) {
        let line = self.line_of(copy.copy.span.start);
        for flag in copy.options.iter().filter(|f| f.name.value == "from") {
            let Some(from) = flag.value.as_ref().map(|v| v.value.to_lowercase()) else {
                continue;
            };
            if stage.facts.name.as_deref() == Some(from.as_str()) {
                self.push(
                    "DL3023",
                    line,
                    format!("COPY --from={from} names the stage it is in"),
                );
            } else if !from.contains(':')
                && !from.contains('/')
                && !from.starts_with('$')
                && !earlier
                    .iter()
                    .any(|s| s.name.as_deref() == Some(from.as_str()))
                && from.parse::<usize>().map_or(true, |i| i >= stage.index)
            {
                self.push(
                    "DL3022",
                    line,
                    format!("COPY --from={from}: no earlier stage has that name"),
                );
            }
        }
    }
}
