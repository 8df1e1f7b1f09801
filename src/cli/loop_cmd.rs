//! `atelier loop`: the refinement loop without a window, judged by a command.
//!
//! Each round generates N candidates from the steered distribution, asks the
//! judge (one line per candidate: `accept`, `reject` or `favourite`), applies
//! the decisions as the app does (the same Vary pipeline, Keep lines
//! included, and the same decision model: candidate history, latent steering) and,
//! with `--refine-steps`, fine-tunes the model on the accepted candidates
//! (rejected ones as extra fakes), keeping each refinement as a model version.
//! `DIR/loop.json` is rewritten after every round, and the project with its
//! history and steering is saved to `DIR/loop.atelier`, so a failing judge
//! loses nothing already decided.
use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Args;
use serde::Serialize;

use super::vary_cmd::read_input;
use crate::decisions::history::{Decision, encode_png};
use crate::document::{CanvasRect, Document};
use crate::project::{ProjectMeta, ProjectSettings};
use crate::refine::job::{RefineConfig, RefineData, refine};
use crate::refine::versions::ModelStore;
use crate::vary::decisions::{Decisions, NewCandidate};
use crate::vary::pipeline::{Options, Prepared};

/// `atelier loop INPUT --rounds R --count N --judge CMD [--refine-steps K] [--model MODEL] --out DIR`
#[derive(Debug, Args)]
pub struct LoopArgs {
    /// The canvas: an image or a project (flattened over white).
    pub input: PathBuf,
    /// Rounds of generate → judge → steer (→ refine).
    #[arg(long, default_value_t = 5)]
    pub rounds: usize,
    /// Candidates per round (1–64).
    #[arg(long, default_value_t = 8)]
    pub count: usize,
    /// Judge command, run through `sh -c` with the candidate PNG paths as
    /// arguments; prints one line per candidate: accept, reject or favourite.
    #[arg(long)]
    pub judge: String,
    /// Seconds the judge may take per round.
    #[arg(long, default_value_t = 120)]
    pub judge_timeout: u64,
    /// Fine-tuning steps after each round with an accepted candidate (0: none).
    #[arg(long, default_value_t = 0)]
    pub refine_steps: u64,
    /// Starting model (`.safetensors`); default: the embedded one.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Strength of the variations (0..1).
    #[arg(long, default_value_t = crate::sampling::DEFAULT_STRENGTH)]
    pub strength: f32,
    /// Seed of the first round.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// libtorch threads.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Keep the input's thin strokes as drawn, as the app's Vary does by
    /// default; `--keep-lines false` shows the judge the raw variations.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub keep_lines: bool,
    /// Output folder (candidates, loop.json, loop.atelier, model versions).
    #[arg(long)]
    pub out: PathBuf,
}

/// One round in `loop.json`.
#[derive(Debug, Serialize)]
pub struct RoundReport {
    /// 1-based.
    pub round: usize,
    /// Accepted (including favourites) / count.
    pub acceptance: f64,
    /// How many of each decision.
    pub accepted: usize,
    /// Rejected.
    pub rejected: usize,
    /// Favourites (also counted as accepted).
    pub favourite: usize,
    /// Model version that generated this round.
    pub model: String,
    /// Model version after this round's refinement.
    pub model_after: String,
    /// What the refinement did ("", "refined", or why it was rolled back).
    pub refinement: String,
    /// Seconds spent generating, judging and refining.
    pub generate_s: f64,
    /// Judge time.
    pub judge_s: f64,
    /// Refinement time.
    pub refine_s: f64,
}

/// `loop.json`.
#[derive(Debug, Serialize)]
struct LoopReport<'a> {
    input: String,
    count: usize,
    rounds: &'a [RoundReport],
    /// Set when the loop stopped early.
    error: Option<String>,
}

/// Runs the judge on `paths`; returns one (decision, favourite) per path.
fn judge(cmd: &str, paths: &[PathBuf], timeout: Duration) -> Result<Vec<(Decision, bool)>> {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!("{cmd} \"$@\""))
        .arg("judge")
        .args(paths)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("cannot start the judge `{cmd}`"))?;
    let mut stdout = child.stdout.take().context("judge stdout")?;
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        stdout.read_to_string(&mut s).map(|_| s)
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            bail!(
                "the judge `{cmd}` did not answer within {} s and was stopped",
                timeout.as_secs()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let out = reader
        .join()
        .map_err(|_| anyhow::anyhow!("reading the judge's output failed"))?
        .context("reading the judge's output")?;
    if !status.success() {
        bail!("the judge `{cmd}` failed ({status})");
    }
    let lines: Vec<&str> = out
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    if lines.len() != paths.len() {
        bail!(
            "the judge printed {} decisions for {} candidates (one line each: accept, reject or favourite)",
            lines.len(),
            paths.len()
        );
    }
    lines
        .iter()
        .enumerate()
        .map(|(i, l)| match l.to_ascii_lowercase().as_str() {
            "accept" => Ok((Decision::Accepted, false)),
            // A favourite is accepted and marked.
            "favourite" | "favorite" => Ok((Decision::Accepted, true)),
            "reject" => Ok((Decision::Rejected, false)),
            other => bail!(
                "the judge's line {} is `{other}`, not accept, reject or favourite",
                i + 1
            ),
        })
        .collect()
}

/// Saves what the loop has so far: loop.json and the project with history.
fn save_state(
    args: &LoopArgs,
    rounds: &[RoundReport],
    error: Option<String>,
    doc: &Document,
    meta: &ProjectMeta,
) -> Result<()> {
    let report = LoopReport {
        input: args
            .input
            .file_name()
            .map_or(String::new(), |n| n.to_string_lossy().into_owned()),
        count: args.count,
        rounds,
        error,
    };
    let json = serde_json::to_vec_pretty(&report)?;
    crate::project::atomic_write(&args.out.join("loop.json"), |f| {
        std::io::Write::write_all(f, &json).map_err(|e| e.to_string())
    })?;
    crate::project::save(doc, meta, &args.out.join("loop.atelier"))?;
    Ok(())
}

/// Runs `atelier loop`.
pub fn run_loop(args: LoopArgs) -> Result<()> {
    if !(1..=64).contains(&args.count) {
        bail!("--count must be 1–64");
    }
    crate::gan::tune_cpu_allocator();
    if let Some(t) = args.threads {
        tch::set_num_threads(t as i32);
    }
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let input = read_input(&args.input)?;
    let (w, h) = input.dimensions();
    let mut doc = Document::new(w, h, [255, 255, 255, 255])?;
    let rgba: Vec<u8> = input
        .pixels()
        .flat_map(|p| [p[0], p[1], p[2], 255])
        .collect();
    doc.add_layer_with_pixels("Canvas", CanvasRect::new(0, 0, w, h), &rgba);

    let device = crate::gan::device::auto();
    let mut store = ModelStore::open(&args.out.join("profile"))?;
    let mut model = match &args.model {
        Some(p) => crate::gan::VariationModel::load(p, device)
            .with_context(|| format!("loading model {}", p.display()))?,
        None => store.load_current(device)?,
    };
    let mut decisions = Decisions::new(model.info().arch.latent_dim);
    // The same pipeline as the app's Vary: the judge sees what the artist
    // would; the history keeps the work-size input, as the app's does, and
    // refinement trains on work-size pairs.
    let options = Options {
        keep_lines: args.keep_lines,
        full_res: false,
        ..Options::default()
    };
    let prepared = Prepared::from_image(input, None, options);
    let input_key = decisions.add_input(encode_png(&prepared.input)?);
    let mut rounds = Vec::new();
    let meta = |decisions: &Decisions| ProjectMeta {
        settings: ProjectSettings {
            vary_count: args.count.min(9),
            vary_strength: args.strength,
            vary_seed: args.seed,
            keep_lines: args.keep_lines,
            ..ProjectSettings::default()
        },
        candidates: decisions.history.clone(),
        steering: Some(decisions.steering().clone()),
    };

    for round in 1..=args.rounds {
        let dir = args.out.join(format!("round-{round}"));
        std::fs::create_dir_all(&dir)?;
        let seed = args.seed.wrapping_add((round as u64 - 1) * 1000);
        let version = model.info().version_id.clone();
        decisions.set_latent_dim(model.info().arch.latent_dim);
        let t0 = Instant::now();
        let codes = decisions.steering().sample(args.count, seed);
        let request = prepared.request(args.count, seed, args.strength, Some(codes));
        let mut made = Vec::new();
        prepared.run(&model, &request, |m| {
            made.push(m);
            true
        })?;
        let mut paths = Vec::new();
        let mut ids = Vec::new();
        for m in &made {
            let path = dir.join(format!("candidate-{}.png", m.index + 1));
            m.image
                .save(&path)
                .with_context(|| format!("writing {}", path.display()))?;
            ids.push(decisions.record(
                NewCandidate {
                    input: &input_key,
                    rect: CanvasRect::new(0, 0, w, h),
                    selection: None,
                    seed: m.seed,
                    z: &m.z,
                    critic: m.critic,
                    model: &version,
                    strength: args.strength,
                },
                encode_png(&m.image)?,
            ));
            paths.push(path);
        }
        let generate_s = t0.elapsed().as_secs_f64();
        let t1 = Instant::now();
        let raw = match judge(&args.judge, &paths, Duration::from_secs(args.judge_timeout)) {
            Ok(r) => r,
            Err(e) => {
                // Everything decided so far is kept; this round stays pending.
                save_state(&args, &rounds, Some(e.to_string()), &doc, &meta(&decisions))?;
                return Err(e.context(format!("round {round}")));
            }
        };
        let judge_s = t1.elapsed().as_secs_f64();
        let (mut accepted, mut rejected, mut fav) = (0, 0, 0);
        let mut pairs = RefineData::default();
        for ((m, id), (decision, favourite)) in made.iter().zip(&ids).zip(&raw) {
            // One decision at a time, as the artist makes them in the app.
            decisions.decide(*id, *decision)?;
            if *favourite {
                decisions.toggle_favourite(*id);
                fav += 1;
            }
            let pair = (prepared.input.clone(), m.work.clone());
            if *decision == Decision::Accepted {
                accepted += 1;
                pairs.accepted.push(pair);
            } else {
                rejected += 1;
                pairs.rejected.push(pair);
            }
        }
        let t2 = Instant::now();
        let refinement = if args.refine_steps > 0 && !pairs.accepted.is_empty() {
            let config = RefineConfig {
                steps: args.refine_steps,
                seed: seed ^ 0x5eed,
                threads: args.threads,
                ..RefineConfig::default()
            };
            match refine(
                &model,
                pairs,
                &config,
                Arc::new(AtomicBool::new(false)),
                |_| {},
            ) {
                Ok(next) => {
                    store.add(&next, &format!("loop round {round}"))?;
                    model = store.load_current(model.device())?;
                    "refined".to_string()
                }
                Err(e) => {
                    eprintln!("round {round}: {e}");
                    e.to_string()
                }
            }
        } else {
            String::new()
        };
        let report = RoundReport {
            round,
            acceptance: accepted as f64 / args.count as f64,
            accepted,
            rejected,
            favourite: fav,
            model: version,
            model_after: model.info().version_id.clone(),
            refinement,
            generate_s,
            judge_s,
            refine_s: t2.elapsed().as_secs_f64(),
        };
        outln!(
            "round {round}: {}/{} accepted ({:.2}), model {}",
            report.accepted,
            args.count,
            report.acceptance,
            report.model_after
        );
        rounds.push(report);
        save_state(&args, &rounds, None, &doc, &meta(&decisions))?;
    }
    Ok(())
}
