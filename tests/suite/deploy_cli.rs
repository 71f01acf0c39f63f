//! `vivr deploy`, `vivr deploy status` and `vivr rollback` against moto_server's ECS, ECR, Secrets Manager and
//! CloudWatch: the request shapes (the task definition registered with the image digest, the environment and
//! the secrets' ARNs; the service updated with its safety nets; the last known good recorded as tags and read
//! back; CloudWatch datapoints put, then read by the trigger code), the preflight's refusals, and no secret
//! value anywhere. moto cannot roll a deployment out (its deployment never moves to a new revision), so a
//! deploy here ends as the state machine says a stuck rollout ends: timed out and rolled back, exit 5; the
//! timelines themselves are tested with a scripted fake (`deploy::timelines`).

use std::path::Path;
use std::process::Command;

use aws_config::SdkConfig;

use crate::common;
use crate::common::process::vivr_output_env;

const REGION: &str = "eu-west-3";
const ACCOUNT: &str = "123456789012";
const DB_PASSWORD: &str = "DeployTestDbPassw0rdXq7";

/// A moto_server of this test's own, started with `MOTO_ECS_SERVICE_RUNNING=2` so that a new service's
/// deployment is COMPLETED with 2 tasks running (moto's only way to say "settled").
struct Moto {
    child: std::process::Child,
    url: String,
}

impl Moto {
    fn start() -> Option<Moto> {
        let path = std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|p| p.join("moto_server"))
                .find(|p| p.is_file())
        });
        let Some(path) = path else {
            return common::missing_component("moto_server", "pip install 'moto[server]'");
        };
        let port = common::process::free_port();
        let mut command = Command::new(path);
        command
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .env("MOTO_ECS_SERVICE_RUNNING", "2")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        let child = common::process::spawn_listening(command, port, "moto_server");
        Some(Moto {
            child,
            url: format!("http://127.0.0.1:{port}"),
        })
    }

    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.url.clone()),
            ("AWS_ACCESS_KEY_ID", "AKIDDEPLOYTEST".into()),
            ("AWS_SECRET_ACCESS_KEY", "DeployTestAwsSecretKey".into()),
            ("AWS_REGION", REGION.into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
            ("RUST_LOG", "trace".into()),
        ]
    }

    async fn sdk(&self) -> SdkConfig {
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(&self.url)
            .region(aws_config::Region::new(REGION))
            .credentials_provider(aws_sdk_ecs::config::Credentials::new(
                "AKIDDEPLOYTEST",
                "DeployTestAwsSecretKey",
                None,
                None,
                "test",
            ))
            .http_client(vivr::aws::http_client())
            .load()
            .await
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The AWS side of a staging environment: a cluster, a service settled on `vivr:1`, a secret, an image in ECR.
/// Returns (the secret's ARN, the image reference by digest).
async fn staging(sdk: &SdkConfig) -> (String, String) {
    let ecs = aws_sdk_ecs::Client::new(sdk);
    ecs.create_cluster()
        .cluster_name("vivr-staging")
        .send()
        .await
        .unwrap();
    // The first revision, as infrastructure code would have registered it (bridge mode, as moto wants).
    ecs.register_task_definition()
        .family("vivr")
        .container_definitions(
            aws_sdk_ecs::types::ContainerDefinition::builder()
                .name("vivr")
                .image(
                    "vivr@sha256:0000000000000000000000000000000000000000000000000000000000000000",
                )
                .memory(512)
                .build(),
        )
        .send()
        .await
        .unwrap();
    ecs.create_service()
        .cluster("vivr-staging")
        .service_name("vivr")
        .task_definition("vivr:1")
        .desired_count(2)
        .launch_type(aws_sdk_ecs::types::LaunchType::Ec2)
        .send()
        .await
        .unwrap();
    // An EC2 container instance for one-off tasks (moto places EC2 tasks on registered instances; it cannot run
    // awsvpc tasks, hence bridge mode here, as the anchors' study of moto says). The instance is made with boto3,
    // which moto_server brings: vivr has no use for an EC2 client.
    let instance = ec2_instance(&endpoint_of(sdk));
    let document = format!(
        "{{\"instanceId\": \"{instance}\", \"region\": \"{REGION}\", \"accountId\": \"{ACCOUNT}\"}}"
    );
    ecs.register_container_instance()
        .cluster("vivr-staging")
        .instance_identity_document(document)
        .send()
        .await
        .unwrap();
    let secret = aws_sdk_secretsmanager::Client::new(sdk)
        .create_secret()
        .name("vivr/staging")
        .secret_string(format!(
            "{{\"DATABASE_URL\": \"postgres://vivr:{DB_PASSWORD}@db.internal/vivr\"}}"
        ))
        .send()
        .await
        .unwrap();
    aws_sdk_cloudwatch::Client::new(sdk)
        .put_metric_alarm()
        .alarm_name("vivr-staging-5xx")
        .namespace("AWS/ApplicationELB")
        .metric_name("HTTPCode_Target_5XX_Count")
        .statistic(aws_sdk_cloudwatch::types::Statistic::Sum)
        .period(60)
        .evaluation_periods(2)
        .threshold(10.0)
        .comparison_operator(aws_sdk_cloudwatch::types::ComparisonOperator::GreaterThanThreshold)
        .send()
        .await
        .unwrap();
    let ecr = aws_sdk_ecr::Client::new(sdk);
    ecr.create_repository()
        .repository_name("vivr")
        .send()
        .await
        .unwrap();
    let pushed = ecr
        .put_image()
        .repository_name("vivr")
        .image_tag("abc123")
        .image_manifest(
            r#"{"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json", "config": {"digest": "sha256:1111111111111111111111111111111111111111111111111111111111111111", "size": 1, "mediaType": "application/vnd.docker.container.image.v1+json"}, "layers": []}"#,
        )
        .send()
        .await
        .unwrap();
    let digest = pushed
        .image()
        .and_then(|i| i.image_id())
        .and_then(|i| i.image_digest())
        .unwrap()
        .to_string();
    (
        secret.arn().unwrap().to_string(),
        format!("{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/vivr@{digest}"),
    )
}

fn write_config(project: &Path, secret_arn: &str, extra: &str) {
    std::fs::create_dir_all(project.join("deploy")).unwrap();
    std::fs::write(
        project.join("deploy/staging.yaml"),
        format!(
            "environment: staging
region: {REGION}
cluster: vivr-staging
service: vivr
task:
  family: vivr
  cpu: 512
  memory: 1024
  launch_type: EC2
  network_mode: bridge
  execution_role_arn: arn:aws:iam::{ACCOUNT}:role/vivr-execution
  log_group: /ecs/vivr-staging
  environment:
    VIVR_PUBLIC_URL: https://staging.vivr.fr
    VIVR_IMAGE_STORE: s3://vivr-images/staging
  secrets:
    DATABASE_URL: \"{secret_arn}:DATABASE_URL::\"
    VIVR_SESSION_SECRET: \"{secret_arn}:VIVR_SESSION_SECRET::\"
alarms: [vivr-staging-5xx]
timeout_secs: 3
poll_secs: 1
bake_secs: 0
{extra}"
        ),
    )
    .unwrap();
}

fn endpoint_of(sdk: &SdkConfig) -> String {
    sdk.endpoint_url().unwrap().to_string()
}

/// An EC2 instance in moto (boto3), for a container instance: its id.
fn ec2_instance(endpoint: &str) -> String {
    let script = format!(
        "import boto3\nec2 = boto3.client('ec2', endpoint_url='{endpoint}', region_name='{REGION}', \
         aws_access_key_id='a', aws_secret_access_key='b')\nimage = ec2.describe_images()['Images'][0]['ImageId']\n\
         print(ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, InstanceType='t3.medium')\
         ['Instances'][0]['InstanceId'])\n"
    );
    let output = Command::new("python3")
        .args(["-c", &script])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "boto3 run_instances: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

/// Waits for the deploy's one-off task, stops it, and returns its command and task definition.
async fn stop_the_one_off(sdk: &SdkConfig) -> (Vec<String>, String) {
    let ecs = aws_sdk_ecs::Client::new(sdk);
    for _ in 0..200 {
        let listed = ecs
            .list_tasks()
            .cluster("vivr-staging")
            .send()
            .await
            .unwrap();
        if !listed.task_arns().is_empty() {
            let described = ecs
                .describe_tasks()
                .cluster("vivr-staging")
                .set_tasks(Some(listed.task_arns().to_vec()))
                .send()
                .await
                .unwrap();
            let started_by_vivr = described
                .tasks()
                .iter()
                .find(|t| t.started_by() == Some("vivr-deploy"));
            if let Some(task) = started_by_vivr {
                let command = task
                    .overrides()
                    .and_then(|o| o.container_overrides().first())
                    .map(|c| c.command().to_vec())
                    .unwrap_or_default();
                ecs.stop_task()
                    .cluster("vivr-staging")
                    .task(task.task_arn().unwrap())
                    .reason("Essential container in task exited")
                    .send()
                    .await
                    .unwrap();
                return (
                    command,
                    task.task_definition_arn().unwrap_or_default().to_string(),
                );
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no one-off task was started");
}

/// A staging environment on a moto_server of its own, and a project whose deploy/staging.yaml names it.
struct Staging {
    moto: Moto,
    sdk: SdkConfig,
    secret_arn: String,
    image: String,
    project: tempfile::TempDir,
}

impl Staging {
    async fn start() -> Option<Staging> {
        let moto = Moto::start()?;
        let sdk = moto.sdk().await;
        let (secret_arn, image) = staging(&sdk).await;
        let project = tempfile::tempdir().unwrap();
        write_config(project.path(), &secret_arn, "");
        Some(Staging {
            moto,
            sdk,
            secret_arn,
            image,
            project,
        })
    }

    /// The task definition revisions of the family `vivr`.
    async fn revisions(&self) -> usize {
        aws_sdk_ecs::Client::new(&self.sdk)
            .list_task_definitions()
            .family_prefix("vivr")
            .send()
            .await
            .unwrap()
            .task_definition_arns()
            .len()
    }

    /// `vivr <command> <args>` for this environment (`--env staging --project …` after the first two words),
    /// with moto's AWS environment: (exit code, stdout, stderr).
    fn vivr(&self, args: &[&str]) -> (i32, String, String) {
        let project = self.project.path().to_str().unwrap();
        let split = if args.get(1) == Some(&"status") { 2 } else { 1 };
        let mut all: Vec<&str> = args[..split].to_vec();
        all.extend(["--env", "staging", "--project", project]);
        all.extend_from_slice(&args[split..]);
        let env = self.moto.env();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (status, out, err) = vivr_output_env(&all, None, &env);
        (status.code().unwrap_or(-1), out, err)
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deploy_registers_digest_and_secret_arns_and_rolls_back_a_rollout_that_never_settles() {
    let Some(staging) = Staging::start().await else {
        return;
    };
    let (sdk, secret_arn, image) = (
        &staging.sdk,
        staging.secret_arn.as_str(),
        staging.image.as_str(),
    );

    // --dry-run: what would be registered, the diff against vivr:1, and nothing changed.
    let (code, out, err) = staging.vivr(&["deploy", image, "--dry-run"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("Would register") && out.contains(image),
        "{out}"
    );
    assert!(
        out.contains("-      \"image\": \"vivr@sha256:0000"),
        "a readable diff:\n{out}"
    );
    assert_eq!(
        staging.revisions().await,
        1,
        "the dry run registered nothing"
    );
    let ecs = aws_sdk_ecs::Client::new(sdk);

    // The deploy, as a JSON event stream. Before the update, a one-off task of the new revision runs `vivr migrate
    // status`; moto's tasks never end on their own, so the test stops it (moto reports exit 0).
    let deploy = {
        let args: Vec<String> = ["deploy", image, "--format", "json"]
            .into_iter()
            .map(String::from)
            .collect();
        let staging = &staging;
        std::thread::scope(|scope| {
            let running = scope.spawn(move || {
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                staging.vivr(&args)
            });
            let one_off = tokio::task::block_in_place(|| {
                tokio::runtime::Handle::current().block_on(stop_the_one_off(sdk))
            });
            (running.join().unwrap(), one_off)
        })
    };
    let ((code, out, err), one_off) = deploy;
    assert_eq!(one_off.0, ["migrate", "status"], "the one-off command");
    assert!(
        one_off.1.ends_with("vivr:2"),
        "the new revision: {}",
        one_off.1
    );
    // moto's deployment never moves to the new revision: timed out, then rolled back to vivr:1.
    assert_eq!(code, 5, "{out}{err}");
    let events: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let kinds: Vec<&str> = events.iter().filter_map(|e| e["event"].as_str()).collect();
    for expected in [
        "preflight",
        "registered",
        "one_off_started",
        "one_off_ended",
        "updated",
        "failed",
        "rolling_back",
        "rolled_back",
        "result",
    ] {
        assert!(kinds.contains(&expected), "{expected} in {kinds:?}");
    }
    let result = events.last().unwrap();
    assert_eq!(result["ending"]["result"], "rolled_back");
    assert_eq!(result["ending"]["failure"]["kind"], "timed_out");
    assert_eq!(
        result["runbook"],
        "runbooks/rollback.md#the-deploy-timed-out"
    );

    // What was registered: the digest, the environment, the secrets as ARNs, the health check, read-only.
    let registered = ecs
        .describe_task_definition()
        .task_definition("vivr:2")
        .send()
        .await
        .unwrap();
    let definition = registered.task_definition().unwrap();
    assert_eq!(definition.cpu(), Some("512"));
    assert_eq!(definition.memory(), Some("1024"));
    assert_eq!(
        definition.execution_role_arn(),
        Some(format!("arn:aws:iam::{ACCOUNT}:role/vivr-execution").as_str())
    );
    let container = &definition.container_definitions()[0];
    assert_eq!(container.image(), Some(image));
    let env_of = |name: &str| {
        container
            .environment()
            .iter()
            .find(|p| p.name() == Some(name))
            .and_then(|p| p.value())
            .map(String::from)
    };
    assert_eq!(env_of("VIVR_ENV").as_deref(), Some("staging"));
    assert_eq!(
        env_of("VIVR_PUBLIC_URL").as_deref(),
        Some("https://staging.vivr.fr")
    );
    assert_eq!(
        env_of("DATABASE_URL"),
        None,
        "a secret is never plain environment"
    );
    let secrets: Vec<(&str, &str)> = container
        .secrets()
        .iter()
        .map(|s| (s.name(), s.value_from()))
        .collect();
    assert!(
        secrets.contains(&(
            "DATABASE_URL",
            format!("{secret_arn}:DATABASE_URL::").as_str()
        )),
        "{secrets:?}"
    );
    assert_eq!(container.readonly_root_filesystem(), Some(true));
    assert!(
        container
            .health_check()
            .unwrap()
            .command()
            .contains(&"healthcheck".to_string())
    );
    assert_eq!(
        container.log_configuration().unwrap().options().unwrap()["awslogs-group"],
        "/ecs/vivr-staging"
    );

    // The service: updated with the safety nets, and pointed back at vivr:1 by the rollback.
    let described = ecs
        .describe_services()
        .cluster("vivr-staging")
        .services("vivr")
        .send()
        .await
        .unwrap();
    let service = &described.services()[0];
    assert!(
        service.task_definition().unwrap().ends_with("vivr:1"),
        "{:?}",
        service.task_definition()
    );
    let configuration = service.deployment_configuration().unwrap();
    let breaker = configuration.deployment_circuit_breaker().unwrap();
    assert!(breaker.enable() && breaker.rollback());
    assert_eq!(
        configuration.alarms().unwrap().alarm_names(),
        ["vivr-staging-5xx".to_string()]
    );

    // No secret value anywhere: the deploy never reads one.
    for text in [&out, &err] {
        assert!(!text.contains(DB_PASSWORD), "a secret value was printed");
        assert!(!text.contains("DeployTestAwsSecretKey"));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_last_known_good_is_recorded_on_the_service_and_read_back_by_status_and_rollback() {
    use vivr::deploy::platform::{KnownGood, Platform};
    let Some(staging) = Staging::start().await else {
        return;
    };
    let sdk = &staging.sdk;

    // Nothing recorded: status says so, rollback refuses and names --to.
    let (code, out, err) = staging.vivr(&["deploy", "status"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("none recorded"), "{out}");
    let (code, out, err) = staging.vivr(&["rollback"]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        out.contains("--to") && out.contains("See runbooks/rollback.md#"),
        "{out}"
    );

    // Recorded through the platform, as a successful deploy does; read back by the platform and by status.
    let ecs = vivr::deploy::ecs::Ecs::new(sdk, "vivr-staging", "vivr", Default::default());
    let revision = format!("arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/vivr:1");
    let good = KnownGood {
        revision: revision.clone(),
        image: "vivr@sha256:0000".into(),
        at: "2026-12-01T09:00:00Z".into(),
        by: format!("arn:aws:iam::{ACCOUNT}:user/ops"),
    };
    assert!(ecs.record_known_good(&good).await.unwrap());
    assert_eq!(ecs.service().await.unwrap().known_good, Some(good));
    let (code, out, err) = staging.vivr(&["deploy", "status", "--format", "json"]);
    assert_eq!(code, 0, "{out}{err}");
    let status: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(status["known_good"]["revision"], revision.as_str());
    assert_eq!(status["deployments"][0]["status"], "PRIMARY");

    // The service already runs it, settled: rollback has nothing to do and says so.
    let (code, out, err) = staging.vivr(&["rollback"]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(out.contains("already runs"), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_preflight_refuses_a_missing_image_or_secret_and_a_bad_file_before_any_change() {
    let Some(staging) = Staging::start().await else {
        return;
    };
    let secret_arn = staging.secret_arn.as_str();
    let deploy = |image: &str| staging.vivr(&["deploy", image]);

    // A digest ECR does not have.
    write_config(staging.project.path(), secret_arn, "");
    let absent = format!(
        "{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/vivr@sha256:{}",
        "9".repeat(64)
    );
    let (code, out, err) = deploy(&absent);
    assert_eq!(code, 2, "{out}{err}");
    assert!(out.contains("has no image sha256:9999"), "{out}");

    // A secret that does not exist.
    let missing = secret_arn.replace("vivr/staging", "vivr/gone");
    write_config(staging.project.path(), &missing, "");
    let (code, out, err) = deploy(&staging.image);
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        out.contains("secret DATABASE_URL") && out.contains("vivr/gone"),
        "{out}"
    );

    // A file with a plain secret and a misspelt field: both named with their lines.
    write_config(staging.project.path(), secret_arn, "desired_cont: 3\n");
    let (code, out, err) = deploy(&staging.image);
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.contains("desired_cont") && err.contains("line 23"),
        "{err}"
    );

    // A deployment alarm already in ALARM: ECS would ignore it; reported (a fix must stay deployable), and the
    // deploy goes on — here to the dry run.
    write_config(staging.project.path(), secret_arn, "");
    aws_sdk_cloudwatch::Client::new(&staging.sdk)
        .set_alarm_state()
        .alarm_name("vivr-staging-5xx")
        .state_value(aws_sdk_cloudwatch::types::StateValue::Alarm)
        .state_reason("5xx above 10 for 2 minutes")
        .send()
        .await
        .unwrap();
    let (code, out, err) = staging.vivr(&["deploy", &staging.image, "--dry-run"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("alarm vivr-staging-5xx")
            && out.contains("warning")
            && out.contains("in ALARM already"),
        "{out}"
    );

    // From `vivr build --format json --push` output: the pushed image; a build that was not pushed is refused.
    let build = staging.project.path().join("build.json");
    std::fs::write(
        &build,
        serde_json::json!({ "image": { "pushed": staging.image } }).to_string(),
    )
    .unwrap();
    let (code, out, err) = staging.vivr(&[
        "deploy",
        "--from-build",
        build.to_str().unwrap(),
        "--dry-run",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains(&staging.image), "{out}");
    std::fs::write(&build, r#"{"image": {"tags": ["vivr:abc"]}}"#).unwrap();
    let (code, _, err) = staging.vivr(&["deploy", "--from-build", build.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("--push"), "{err}");

    // AWS that does not answer: exit 3, naming what to check.
    let closed = format!("http://127.0.0.1:{}", common::process::free_port());
    for command in [
        vec![
            "deploy",
            staging.image.as_str(),
            "--endpoint-url",
            closed.as_str(),
        ],
        vec!["deploy", "status", "--endpoint-url", closed.as_str()],
        vec!["rollback", "--endpoint-url", closed.as_str()],
    ] {
        let (code, out, err) = staging.vivr(&command);
        assert_eq!(code, 3, "{command:?}: {out}{err}");
        assert!(
            err.contains("could not reach the AWS endpoint"),
            "{command:?}: {err}"
        );
    }

    // Not by digest.
    let (code, _, err) = deploy("vivr:latest");
    assert_eq!(code, 2);
    assert!(err.contains("by digest"), "{err}");

    assert_eq!(staging.revisions().await, 1, "nothing was registered");
}

#[tokio::test(flavor = "multi_thread")]
async fn cloudwatch_datapoints_put_for_the_target_group_are_read_by_the_triggers() {
    use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit};
    use vivr::deploy::triggers::{MetricSource, Verdict};
    let Some(moto) = Moto::start() else { return };
    let sdk = moto.sdk().await;
    let load_balancer = "app/vivr/50dc6c495c0c9188";
    let target_group = "targetgroup/vivr/73e2d6bc24d8a067";
    let cloudwatch = aws_sdk_cloudwatch::Client::new(&sdk);
    let now = std::time::SystemTime::now();
    for minutes_ago in [1u64, 2] {
        let at = aws_sdk_cloudwatch::primitives::DateTime::from(
            now - std::time::Duration::from_secs(60 * minutes_ago - 5),
        );
        let datum = |name: &str, value: f64| {
            MetricDatum::builder()
                .metric_name(name)
                .timestamp(at)
                .value(value)
                .unit(StandardUnit::Count)
                .dimensions(
                    Dimension::builder()
                        .name("LoadBalancer")
                        .value(load_balancer)
                        .build(),
                )
                .dimensions(
                    Dimension::builder()
                        .name("TargetGroup")
                        .value(target_group)
                        .build(),
                )
                .build()
        };
        cloudwatch
            .put_metric_data()
            .namespace("AWS/ApplicationELB")
            .metric_data(datum("RequestCount", 200.0))
            .metric_data(datum("HTTPCode_Target_5XX_Count", 30.0))
            .send()
            .await
            .unwrap();
    }
    let source = vivr::deploy::cloudwatch::CloudWatch::new(&sdk, load_balancer, target_group);
    let config = vivr::deploy::config::DeployConfig::parse(&format!(
        "environment: staging\ncluster: c\nservice: s\ntask:\n  family: vivr\n  cpu: 256\n  memory: 512\n  \
         execution_role_arn: arn:aws:iam::{ACCOUNT}:role/x\nmetrics:\n  cloudwatch:\n    load_balancer: \
         {load_balancer}\n    target_group: {target_group}\n"
    ))
    .unwrap();
    let error_rate = config
        .triggers()
        .into_iter()
        .find(|t| t.name == "error_rate")
        .unwrap();
    let points = source.datapoints(&error_rate).await.unwrap();
    assert!(!points.is_empty(), "datapoints read back");
    for point in &points {
        assert!((point.value - 0.15).abs() < 1e-9, "{points:?}");
        assert_eq!(point.samples, 200);
    }
    assert_eq!(points.len(), 2, "one datapoint per minute: {points:?}");
    let reading = error_rate.evaluate(&points, error_rate.warmup);
    assert_eq!(reading.verdict, Verdict::Breached, "{reading:?}");
    assert_eq!(reading.value, Some(0.15));
}

#[tokio::test(flavor = "multi_thread")]
async fn old_revisions_are_retired_but_never_the_protected_ones() {
    use vivr::deploy::platform::Platform;
    let Some(staging) = Staging::start().await else {
        return;
    };
    let ecs = aws_sdk_ecs::Client::new(&staging.sdk);
    // vivr:1 exists; register 2 to 6.
    for _ in 2..=6 {
        ecs.register_task_definition()
            .family("vivr")
            .container_definitions(
                aws_sdk_ecs::types::ContainerDefinition::builder()
                    .name("vivr")
                    .image("vivr@sha256:1")
                    .memory(512)
                    .build(),
            )
            .send()
            .await
            .unwrap();
    }
    let arn = |n: u32| format!("arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/vivr:{n}");
    let platform =
        vivr::deploy::ecs::Ecs::new(&staging.sdk, "vivr-staging", "vivr", Default::default());
    let retired = platform.prune("vivr", 2, &[arn(1)]).await.unwrap();
    assert_eq!(retired, [arn(4), arn(3), arn(2)]);
    let active = ecs
        .list_task_definitions()
        .family_prefix("vivr")
        .status(aws_sdk_ecs::types::TaskDefinitionStatus::Active)
        .send()
        .await
        .unwrap();
    let mut active: Vec<String> = active.task_definition_arns().to_vec();
    active.sort();
    assert_eq!(active, [arn(1), arn(5), arn(6)]);
    // Again: nothing more to retire.
    assert!(
        platform
            .prune("vivr", 2, &[arn(1)])
            .await
            .unwrap()
            .is_empty()
    );
}

/// A Prometheus server (Debian's `prometheus`) scraping `target` every second as job `vivr`. Stopped when
/// dropped.
struct PrometheusServer {
    child: std::process::Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl PrometheusServer {
    fn start(target: std::net::SocketAddr) -> Option<PrometheusServer> {
        let Some(binary) = ["/usr/bin/prometheus", "/usr/local/bin/prometheus"]
            .into_iter()
            .map(std::path::PathBuf::from)
            .find(|p| p.is_file())
        else {
            return common::missing_component("prometheus", "apt-get install prometheus");
        };
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: vivr\n    static_configs:\n      - \
                 targets: ['{target}']\n"
            ),
        )
        .unwrap();
        let port = common::process::free_port();
        let mut command = Command::new(binary);
        command
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        let child = common::process::spawn_listening(command, port, "prometheus");
        let server = PrometheusServer {
            child,
            url: format!("http://127.0.0.1:{port}"),
            _dir: dir,
        };
        // Prometheus listens before it serves: queries answer 503 until its storage is open.
        let addr: std::net::SocketAddr = ([127, 0, 0, 1], port).into();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while common::process::http(addr, "GET", "/-/ready", &[], b"")
            .map_or(true, |r| r.status != 200)
        {
            assert!(
                std::time::Instant::now() < deadline,
                "prometheus was not ready within 30 s"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        Some(server)
    }
}

impl Drop for PrometheusServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn prometheus_datapoints_of_a_scraped_shop_are_read_by_the_triggers() {
    use vivr::deploy::triggers::{MetricSource, NoData, Trigger, Verdict};
    let db = common::TestDb::sqlite();
    let shop = common::process::Vivr::serve(&["--database-url", &db.url]);
    let Some(prometheus) = PrometheusServer::start(shop.addr) else {
        return;
    };
    let source = vivr::deploy::prometheus::Prometheus::new(&prometheus.url, "job=\"vivr\"");
    let trigger = |name: &str, threshold: f64, min_samples: u64| Trigger {
        name: name.into(),
        threshold,
        window: std::time::Duration::from_secs(10),
        period: std::time::Duration::from_secs(5),
        min_samples,
        warmup: std::time::Duration::ZERO,
        no_data: NoData::Inconclusive,
    };
    let error_rate = trigger("error_rate", 0.05, 10);
    let p99 = trigger("p99_latency", 5.0, 10);
    let unhealthy = trigger("unhealthy_targets", 0.5, 1);

    // Traffic for long enough that both datapoints of the window rest on it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(40);
    let readings = loop {
        for path in ["/", "/produits", "/api/v1/products", "/panier"] {
            assert!(shop.get(path).status < 500);
        }
        let points = source.datapoints(&error_rate).await.unwrap();
        let reading = error_rate.evaluate(&points, error_rate.warmup);
        if reading.verdict == Verdict::Healthy {
            break (
                reading,
                p99.evaluate(&source.datapoints(&p99).await.unwrap(), p99.warmup),
                unhealthy.evaluate(
                    &source.datapoints(&unhealthy).await.unwrap(),
                    unhealthy.warmup,
                ),
            );
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the error rate never became conclusive: {points:?} {reading:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    let (rate_reading, p99, unhealthy) = readings;
    assert_eq!(rate_reading.value, Some(0.0), "{rate_reading:?}");
    assert!(
        matches!(p99.verdict, Verdict::Healthy) && p99.value.is_some_and(|v| v > 0.0 && v < 5.0),
        "{p99:?}"
    );
    assert_eq!(unhealthy.verdict, Verdict::Healthy, "{unhealthy:?}");
    assert_eq!(unhealthy.value, Some(0.0));

    // A server that is not Prometheus: an error that says so, which the deploy counts as a source failure.
    let wrong = vivr::deploy::prometheus::Prometheus::new(&format!("http://{}", shop.addr), "");
    let err = wrong.datapoints(&error_rate).await.unwrap_err();
    assert!(err.contains("Prometheus"), "{err}");
}

/// `vivr audit --aws staging` on moto: a service made by hand has none of the safety nets and no last known good,
/// and its secret does not rotate; once a deploy's update has put the nets on and a known good is recorded, those
/// checks pass; an alarm deleted from CloudWatch fails again. Only Describe calls: no secret value appears.
#[tokio::test(flavor = "multi_thread")]
async fn audit_aws_reads_the_live_safety_nets_known_good_and_secret_posture() {
    use crate::audit_cli::{check, status};
    use vivr::deploy::platform::{KnownGood, Platform};
    let Some(staging) = Staging::start().await else {
        return;
    };
    let project = staging.project.path().to_str().unwrap();
    let env = staging.moto.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let audit = |environment: &str| {
        let args = [
            "audit",
            project,
            "--aws",
            environment,
            "--format",
            "json",
            "--fail-on",
            "none",
        ];
        let (status, out, err) = vivr_output_env(&args, None, &env);
        assert!(!out.contains(DB_PASSWORD) && !err.contains(DB_PASSWORD));
        (status.code().unwrap_or(-1), out, err)
    };
    let report = |out: &str| -> serde_json::Value {
        serde_json::from_str(out).unwrap_or_else(|e| panic!("{e}: {out}"))
    };

    let (code, out, err) = audit("staging");
    assert_eq!(code, 0, "{out}{err}");
    let before = report(&out);
    for id in [
        "deployment.live-circuit-breaker",
        "deployment.live-alarms",
        "deployment.live-known-good",
        "secrets.live-posture",
    ] {
        assert_eq!(status(&before, id), "fail", "{id}: {before:#}");
    }
    let evidence = |report: &serde_json::Value, id: &str| check(report, id)["evidence"].to_string();
    assert!(evidence(&before, "deployment.live-circuit-breaker").contains("is off"));
    assert!(
        evidence(&before, "deployment.live-alarms")
            .contains("names the alarm vivr-staging-5xx, but the service does not watch it"),
        "{before:#}"
    );
    let secrets = evidence(&before, "secrets.live-posture");
    assert!(
        secrets.contains("vivr/staging") && secrets.contains("rotation_disabled (high)"),
        "{secrets}"
    );

    // What a deploy's update puts on the service, and the known good a successful one records.
    let ecs = vivr::deploy::ecs::Ecs::new(
        &staging.sdk,
        "vivr-staging",
        "vivr",
        vivr::deploy::ecs::SafetyNets {
            circuit_breaker: true,
            alarms: vec!["vivr-staging-5xx".into()],
            health_check_grace_secs: None,
            desired_count: None,
        },
    );
    ecs.update("vivr:1").await.unwrap();
    let revision = format!("arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/vivr:1");
    assert!(
        ecs.record_known_good(&KnownGood {
            revision: revision.clone(),
            image: "vivr@sha256:0000".into(),
            at: "2026-12-01T09:00:00Z".into(),
            by: "ops".into(),
        })
        .await
        .unwrap()
    );
    let (_, out, _) = audit("staging");
    let after = report(&out);
    for id in [
        "deployment.live-circuit-breaker",
        "deployment.live-alarms",
        "deployment.live-known-good",
    ] {
        assert_eq!(status(&after, id), "pass", "{id}: {after:#}");
    }
    assert!(evidence(&after, "deployment.live-known-good").contains(&revision));
    assert_eq!(status(&after, "secrets.live-posture"), "fail");

    // An alarm that no longer exists can never fire.
    aws_sdk_cloudwatch::Client::new(&staging.sdk)
        .delete_alarms()
        .alarm_names("vivr-staging-5xx")
        .send()
        .await
        .unwrap();
    let (_, out, _) = audit("staging");
    let deleted = report(&out);
    assert_eq!(status(&deleted, "deployment.live-alarms"), "fail");
    assert!(
        evidence(&deleted, "deployment.live-alarms")
            .contains("vivr-staging-5xx does not exist in CloudWatch"),
        "{deleted:#}"
    );

    // Without --aws the checks are skipped; no deploy file is exit 2 naming it; AWS not answering is exit 3.
    let (_, stdout, _) = vivr_output_env(
        &["audit", project, "--format", "json", "--fail-on", "none"],
        None,
        &env,
    );
    assert_eq!(
        status(&report(&stdout), "deployment.live-alarms"),
        "skipped"
    );
    let (code, _, err) = audit("production");
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("--aws production") && err.contains("production.yaml"),
        "{err}"
    );
    let mut unreachable = env.clone();
    let closed = format!("http://127.0.0.1:{}", common::process::free_port());
    unreachable.retain(|(k, _)| *k != "AWS_ENDPOINT_URL");
    unreachable.push(("AWS_ENDPOINT_URL", &closed));
    let (code, _, err) = vivr_output_env(
        &["audit", project, "--aws", "staging", "--format", "json"],
        None,
        &unreachable,
    );
    assert_eq!(code.code(), Some(3), "{err}");
    assert!(
        err.contains("--aws staging: ECS service vivr-staging/vivr"),
        "{err}"
    );
}
