//! `PatientAdapter` (ui/pages/patient.slint): the patient's screen, its diary questions and the
//! side effects the patient reports.

use slint::{ComponentHandle, Model as _};

use super::{small, strings};
use crate::service::wire::Status;
use crate::ui::command::{Commands, UiCommand};
use crate::ui::present::patient::{Prompt, after_answer, next_prompt, patient_view};
use crate::ui::{MainWindow, PatientAdapter, PatientPrompt};

/// The patient screen for a status, and the question it asks now.
pub fn show_status(ui: &MainWindow, s: &Status) {
    let p = ui.global::<PatientAdapter>();
    let view = patient_view(s);
    p.set_headline(view.headline.into());
    p.set_delivered_today(view.delivered_today.into());
    p.set_reservoir(view.reservoir.into());
    p.set_bolus_line(view.bolus_line.into());
    p.set_bolus_allowed(view.bolus_allowed);
    p.set_bolus_button(view.bolus_button.into());
    p.set_call_nurse(view.call_nurse);
    p.set_trial(view.trial);
    // The answers follow the language the pump speaks (it comes with the status).
    if p.get_pgic_answers().row_data(0).as_deref() != crate::core::diary::pgic_label(1) {
        show_pgic_answers(ui);
    }
    let prompt = patient_prompt(next_prompt(s, prompt(p.get_prompt())));
    if p.get_prompt() != prompt {
        p.set_prompt(prompt);
    }
}

fn prompt(shown: PatientPrompt) -> Option<Prompt> {
    match shown {
        PatientPrompt::None => None,
        PatientPrompt::Pain => Some(Prompt::Pain),
        PatientPrompt::FunctionQuestion => Some(Prompt::Function),
        PatientPrompt::Pgic => Some(Prompt::Pgic),
    }
}

fn patient_prompt(prompt: Option<Prompt>) -> PatientPrompt {
    match prompt {
        None => PatientPrompt::None,
        Some(Prompt::Pain) => PatientPrompt::Pain,
        Some(Prompt::Function) => PatientPrompt::FunctionQuestion,
        Some(Prompt::Pgic) => PatientPrompt::Pgic,
    }
}

/// Shows the site protocol's function question and its answers.
pub fn show_diary_question(ui: &MainWindow, question: &str, answers: Vec<String>) {
    let p = ui.global::<PatientAdapter>();
    p.set_function_question(question.into());
    p.set_function_answers(strings(answers));
}

/// Gives the patient screen the impression of change's seven answers, in the language in use
/// (the answer sent back is its number).
pub fn show_pgic_answers(ui: &MainWindow) {
    ui.global::<PatientAdapter>().set_pgic_answers(strings(
        (1..=7)
            .filter_map(crate::core::diary::pgic_label)
            .map(str::to_owned)
            .collect(),
    ));
}

/// The patient answered the question `answered` (None: left it with "Not now"): the screen
/// moves on at once (to the function question after a pain score), before the daemon answers.
pub fn prompt_answered(ui: &MainWindow, answered: Option<Prompt>) {
    let p = ui.global::<PatientAdapter>();
    let has_question = p.get_function_answers().row_count() > 0;
    p.set_prompt(patient_prompt(after_answer(answered, has_question)));
}

/// Connects the dose button, the pain scale, the answers to the questions and the side
/// effects.
pub fn wire(ui: &MainWindow, commands: &Commands) {
    let p = ui.global::<PatientAdapter>();
    p.on_request_bolus(commands.sender(UiCommand::Bolus));
    let c = commands.clone();
    p.on_record_pain(move |n| c.send(UiCommand::Pain(small(n))));
    let c = commands.clone();
    let weak = ui.as_weak();
    p.on_answer_prompt(move |asked, n| {
        let answered = prompt(asked);
        let n = small(n);
        if let Some(ui) = weak.upgrade() {
            prompt_answered(&ui, answered);
        }
        match answered {
            Some(Prompt::Pain) => c.send(UiCommand::Pain(n)),
            Some(Prompt::Function) => c.send(UiCommand::Function(n)),
            Some(Prompt::Pgic) => c.send(UiCommand::Pgic(n)),
            None => {}
        }
    });
    let weak = ui.as_weak();
    let c = commands.clone();
    // Only the function question can be left ("Not now"); leaving it is recorded too.
    p.on_skip_prompt(move || {
        if let Some(ui) = weak.upgrade() {
            prompt_answered(&ui, None);
        }
        c.send(UiCommand::SkipFunction);
    });
    let c = commands.clone();
    p.on_record_side_effect(move |effect, severity| {
        c.send(UiCommand::SideEffect(
            effect.to_string(),
            severity.to_string(),
        ));
    });
}
